/**
 * `npm run bench` (issue 18): every measure beside its baseline, taken side by side in this one run, printed as
 * one table; exits 1 when a goal is missed. `npm run bench -- --quick` takes fewer samples of smaller work (a
 * smoke test of the bench, not figures to quote); `--only NAME[,NAME]` runs some cases (noop, warm, start, serve,
 * logs, logs-command, model, channel). The machine should be quiet: the figures are ratios of wall times.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { arch, cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as cases from './cases.js';
import { goalMet, renderTable, type Row } from './table.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]?.split(',')) : undefined;
const want = (name: string) => !only || only.has(name);

const GiB = 1024 ** 3;
const o: cases.BenchOptions = quick
  ? { runs: 3, heavyRuns: 1, logLines: 200_000, logsCommandLines: 100_000, modelBytes: GiB / 8, channelBytes: GiB / 8, wrkSeconds: 2, wrkRuns: 3, log }
  : { runs: 25, heavyRuns: 3, logLines: 2_000_000, logsCommandLines: 1_000_000, modelBytes: GiB, channelBytes: 2 * GiB, wrkSeconds: 5, wrkRuns: 9, log };

function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`);
}

if (!existsSync(resolve(import.meta.dirname, '../dist/bin/crml.cjs'))) throw new Error('dist/bin/crml.cjs is missing: npm run build first');
for (const tool of ['docker', 'wrk', 'taskset', 'tar', 'sha256sum', '/usr/bin/time']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed (bash scripts/setup.sh installs it)`);
  }
}
execFileSync('docker', ['image', 'inspect', cases.IMAGE], { stdio: 'ignore' });

// The CLI's commands go to a resident worker (src/cli/daemon) of the bench's own, stopped at the end.
const daemonDir = mkdtempSync(join(tmpdir(), 'crml-bench-daemon-'));
process.env.CRML_DAEMON_DIR = daemonDir;
const stopDaemon = () => {
  execFileSync('node', [resolve(import.meta.dirname, '../dist/bin/crml.cjs'), 'daemon', 'stop']);
  rmSync(daemonDir, { recursive: true, force: true });
};
process.on('exit', () => existsSync(daemonDir) && stopDaemon());

const rows: Row[] = [];
const peaks: number[] = [];
let cliData: string | undefined;
if (want('noop') || want('start') || want('serve')) {
  const r = await cases.noopCli({ ...o, runs: want('noop') ? o.runs : 1 });
  if (want('noop')) rows.push(...r.rows);
  cliData = r.dataDir;
}
if (want('warm')) rows.push(await cases.noopWarm(o));
if (want('start')) rows.push(await cases.cliStart(o, cliData!));
if (want('serve')) rows.push(await cases.serveGet(o, cliData!));
if (cliData) rmSync(cliData, { recursive: true, force: true });
if (want('logs')) {
  const r = await cases.logCapture(o);
  rows.push(r.row);
  peaks.push(r.peakRssMb);
}
if (want('logs-command')) rows.push(await cases.logsCommand(o));
if (want('model')) {
  const r = await cases.modelPackaging(o);
  rows.push(r.row);
  peaks.push(r.peakRssMb);
}
if (want('channel')) rows.push(await cases.channelStreaming(o));
if (peaks.length > 0) rows.push(cases.rssRow(peaks));

stopDaemon();
const docker = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
console.log(
  `\n${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / GiB).toFixed(0)} GiB, Linux ${release()} ${arch()}, ` +
    `Node ${process.version}, Docker ${docker}${quick ? ' — QUICK: smaller work, fewer samples' : ''}\n`,
);
console.log(renderTable(rows));
const missed = rows.filter((r) => !goalMet(r));
console.log(missed.length === 0 ? '\nEvery goal met.' : `\nGoals missed: ${missed.map((r) => r.measure).join('; ')}`);
process.exitCode = missed.length === 0 ? 0 : 1;
