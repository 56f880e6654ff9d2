import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../../settings.js';
import { CleanRoomsMLLocal } from '../../api/service.js';
import { discoverEngine } from '../../runner/engine-discovery.js';
import { CheckSpecError, loadCheckSpec } from '../../check/load-check-spec.js';
import type { CheckSuite } from '../../check/check-case.js';
import { runCheck } from '../../check/run-check.js';
import { checkTable } from '../../check/check-table.js';
import { junitReport, writeJunitReport } from '../../check/junit-report.js';
import { UsageError } from '../errors.js';

/** Exit codes: every case passed; a case failed or could not run; the check was interrupted (Ctrl-C, as shells count SIGINT). */
export const CHECK_PASSED = 0;
export const CHECK_FAILED = 1;
export const CHECK_INTERRUPTED = 130;

export interface CheckCommandOptions {
  junit?: string;
  parallel?: string;
}

export interface CheckCommandDeps {
  settings: Settings;
  /** The global --data-dir: the runs stay there. None: a temporary data folder, removed at the end. */
  dataDir?: string;
  logger: Logger;
  print: (s: string) => Promise<void> | undefined;
  printErr: (s: string) => void;
}

async function loadSuites(files: readonly string[]): Promise<CheckSuite[]> {
  const suites: CheckSuite[] = [];
  for (const f of files) {
    try {
      suites.push(await loadCheckSpec(f));
    } catch (e) {
      if (e instanceof CheckSpecError) throw new UsageError(e.message);
      throw e;
    }
  }
  const workspaces = new Set(suites.map((s) => s.workspaceFile).filter((w) => w !== undefined));
  if (workspaces.size > 1) throw new UsageError(`the specs name different workspace files (${[...workspaces].join(', ')}): one check uses one workspace`);
  return suites;
}

function parallelOf(value: string | undefined): number {
  const n = Number(value ?? '1');
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--parallel: expected a whole number of 1 or more, got '${value}'`);
  return n;
}

/**
 * `crml check <spec…> [--junit FILE] [--parallel N]`: runs every case of the specs through one service (the
 * product's own training path), prints a pass/fail table, writes JUnit XML, and answers an exit code.
 */
export async function check(files: readonly string[], o: CheckCommandOptions, deps: CheckCommandDeps): Promise<number> {
  const parallel = parallelOf(o.parallel);
  // Found out now, not after every case has run.
  if (o.junit !== undefined && existsSync(o.junit) && !statSync(o.junit).isFile()) throw new UsageError(`--junit: ${o.junit} is not a file`);
  const suites = await loadSuites(files);
  const total = suites.reduce((n, s) => n + s.cases.length, 0);
  const dataDir = deps.dataDir ?? mkdtempSync(join(tmpdir(), 'crml-check-'));
  const workspaceFile = suites.find((s) => s.workspaceFile)?.workspaceFile;
  const service = new CleanRoomsMLLocal({
    settings: { ...deps.settings, dataDir, ...(workspaceFile ? { workspaceFile } : {}) },
    logger: deps.logger,
  });
  const aborter = new AbortController();
  const onInt = () => {
    deps.printErr('Interrupted: cancelling the runs under way…');
    aborter.abort();
  };
  process.on('SIGINT', onInt);
  const startedAt = new Date();
  try {
    deps.printErr(`Checking ${total} case${total === 1 ? '' : 's'}, ${parallel} at a time; runs in ${dataDir}${deps.dataDir ? '' : ' (removed at the end; --data-dir DIR keeps them)'}`);
    // The engine the service trains on, asked for each image's platform; without one the runs say why themselves.
    const engine = await discoverEngine({ DOCKER_HOST: deps.settings.engine.dockerHost, SSH_AUTH_SOCK: deps.settings.engine.sshAuthSock }).catch(() => undefined);
    let done = 0;
    const results = await runCheck(suites, {
      service,
      inspectImage: engine ? (ref) => engine.inspectImage(ref) : undefined,
      parallel,
      signal: aborter.signal,
      onCaseStart: (_s, c) => deps.printErr(`▶ ${c.name}`),
      // The build's steps, not its every line: what a failed build's error does not already say.
      onBuildLine: (c, line) => void (/^Step \d+\/\d+ : /.test(line) && deps.printErr(`  build for ${c.name}: ${line.trim()}`)),
      onCaseEnd: (r) => deps.printErr(`[${++done}/${total}] ${r.outcome === 'passed' ? 'PASS' : r.outcome === 'failed' ? 'FAIL' : 'ERROR'} ${r.case.name} (${r.elapsedSeconds.toFixed(1)}s)`),
    });
    for (const line of checkTable(results)) await deps.print(line);
    if (o.junit) {
      writeJunitReport(o.junit, junitReport(suites, results, startedAt));
      deps.printErr(`JUnit XML written to ${o.junit}`);
    }
    if (aborter.signal.aborted) return CHECK_INTERRUPTED;
    return results.every((r) => r.outcome === 'passed') ? CHECK_PASSED : CHECK_FAILED;
  } finally {
    process.off('SIGINT', onInt);
    await service.close();
    if (!deps.dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}
