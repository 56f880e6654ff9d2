import { watch } from 'node:fs';
import { sep } from 'node:path';
import type { CleanRoomsMLLocal } from '../../api/service.js';
import type { TrainInput } from '../../api/train.js';
import { trainedModelArtifacts } from '../../api/artifacts.js';
import { CleanRoomsMLServiceException } from '../../api/generated/errors.js';
import { EngineError } from '../../runner/container-engine.js';
import { isIgnored, readDockerignore } from '../../runner/build-context.js';
import { isTerminal } from '../../api/trained-model-status.js';
import { UsageError } from '../errors.js';
import type { LineOutput } from '../output.js';
import { trainInputFromFlags, type TrainFlags } from '../train-job.js';
import { PlainTrainView, TerminalTrainView, type TrainView } from '../train-view.js';

/**
 * `crml train`: one command from an image (or a folder to build) to a trained model, shown live, ending with a
 * summary. Exit codes: 0 when the model is ACTIVE, 1 when it is not (failed, or the build failed), 130 when
 * Ctrl-C cancelled it (or ended --watch); usage errors 252 and service errors 254 come from main's report.
 */

export const EXIT_NOT_ACTIVE = 1;
export const EXIT_INTERRUPTED = 130;
/** How long the build folder must be quiet before --watch re-builds: one save touches several files. */
const WATCH_DEBOUNCE_MS = 500;

export interface TrainCommandDeps {
  service: () => CleanRoomsMLLocal;
  stdout: LineOutput;
  printErr: (s: string) => void;
  /** stdout is a terminal: the live view, else plain lines. */
  isTTY: boolean;
  columns: () => number;
}

export async function trainCommand(deps: TrainCommandDeps, flags: TrainFlags): Promise<number> {
  const input = await trainInputFromFlags(flags);
  if (flags.watch && !input.build) throw new UsageError('--watch needs --build DIR: it re-builds and re-trains when that folder changes');
  const service = deps.service();
  const interrupted = new AbortController();
  const onInt = () => {
    if (!interrupted.signal.aborted) deps.printErr(flags.watch ? 'Cancelling the run and ending --watch…' : 'Cancelling…');
    interrupted.abort();
  };
  process.on('SIGINT', onInt);
  try {
    if (!flags.watch) return await runOnce(deps, service, input, interrupted.signal);
    return await watchAndTrain(deps, service, input, interrupted.signal);
  } finally {
    process.off('SIGINT', onInt);
  }
}

function viewFor(deps: TrainCommandDeps): TrainView {
  return deps.isTTY ? new TerminalTrainView(deps.stdout, deps.columns) : new PlainTrainView(deps.stdout);
}

/** Builds if asked, trains, follows the run to its end and prints the summary; `signal` cancels the run. */
async function runOnce(deps: TrainCommandDeps, service: CleanRoomsMLLocal, input: TrainInput, signal: AbortSignal): Promise<number> {
  const view = viewFor(deps);
  const startedAt = Date.now();
  let result;
  try {
    result = await service.train({
      ...input,
      signal,
      onProgress: (e) => void (e.kind === 'build' ? view.build(e.line) : view.pull(e))?.catch(() => undefined),
    });
  } catch (e) {
    view.close();
    if (signal.aborted) {
      deps.printErr('crml: cancelled before the trained model was created');
      return EXIT_INTERRUPTED;
    }
    if (e instanceof EngineError && e.operation === 'build') {
      deps.printErr(`crml: the build of ${input.build?.context} failed: ${e.message}`);
      return EXIT_NOT_ACTIVE;
    }
    throw e;
  }
  const arn = result.trainedModelArn;
  const membershipIdentifier = service.settings.defaultMembershipId;
  const record = () => service.trainedModels.get(arn)?.body;
  const cancel = () => void service.cancelTrainedModel({ membershipIdentifier, trainedModelArn: arn }).catch(() => undefined);
  // A Ctrl-C between the build and here cancels the run as soon as it exists.
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });

  let shown = 0;
  let logsDone = false;
  // Every status the record went through, in order, from its history (every record has one from its insert, and
  // only changes are appended): a short run can pass CREATE_IN_PROGRESS between two polls, and a reader still
  // expects to see it.
  const showStatus = async () => {
    const history = record()?.statusHistory ?? [];
    while (shown < history.length) {
      const status = history[shown]!.status;
      // The final status comes after the run's last log line, where a reader expects it.
      if (!logsDone && isTerminal(status)) return;
      shown += 1;
      await view.status(status);
    }
  };
  const latest = new Map<string, { name: string; host: string; value: number }>();
  let seenPoints = 0;
  let polling: Promise<void> | undefined;
  const pollMetrics = () =>
    (polling ??= (async () => {
      const points = await service.trainedModelMetrics({ membershipIdentifier, trainedModelArn: arn });
      for (const p of points.slice(seenPoints)) {
        latest.set(`${p.name}\u0000${p.host}`, { name: p.name, host: p.host, value: p.value });
        await view.metric(p);
      }
      seenPoints = Math.max(seenPoints, points.length);
    })().finally(() => (polling = undefined)));

  try {
    await view.started({ trainedModelArn: arn, name: record()?.name ?? '', imageUri: result.imageUri });
    await showStatus();
    const statusTimer = setInterval(() => void showStatus().catch(() => undefined), 200);
    const metricTimer = setInterval(() => void pollMetrics().catch(() => undefined), 1000);
    try {
      for await (const l of service.trainedModelLogs({ membershipIdentifier, trainedModelArn: arn, follow: true })) {
        await showStatus();
        await view.log(l);
      }
      await service.waitForRuns(arn);
      logsDone = true;
    } finally {
      clearInterval(statusTimer);
      clearInterval(metricTimer);
    }
    await showStatus();
    await pollMetrics();
  } finally {
    signal.removeEventListener('abort', cancel);
  }

  const body = record();
  const run = body?.run;
  await view.summary({
    status: body?.status ?? 'unknown',
    statusCode: body?.statusDetails?.statusCode,
    message: body?.statusDetails?.message,
    trainedModelArn: arn,
    name: body?.name ?? '',
    imageUri: result.imageUri,
    imageDigest: body?.trainingContainerImageDigest,
    durationMs: run?.startedAt && run.endedAt ? Date.parse(run.endedAt) - Date.parse(run.startedAt) : Date.now() - startedAt,
    metrics: [...latest.values()],
    artifacts: await trainedModelArtifacts(service, arn).catch(() => []),
  });
  view.close();
  if (body?.status === 'ACTIVE') return 0;
  return signal.aborted ? EXIT_INTERRUPTED : EXIT_NOT_ACTIVE;
}

/**
 * --watch: trains, then re-builds and re-trains each time the build folder changes (debounced); a change during
 * a run cancels it first. Ctrl-C cancels the run going on, if any, and ends watching (exit 130).
 */
async function watchAndTrain(deps: TrainCommandDeps, service: CleanRoomsMLLocal, input: TrainInput, interrupted: AbortSignal): Promise<number> {
  const folder = input.build!.context;
  let onChange: (() => void) | undefined;
  let debounce: NodeJS.Timeout | undefined;
  // What the build does not send (.git, caches) does not re-build either; the rules are read again on each change.
  let ignored = await readDockerignore(folder).catch(() => []);
  const watcher = watch(folder, { recursive: true }, (_event, filename) => {
    const rel = filename?.toString().split(sep).join('/');
    if (rel && rel !== '.dockerignore' && isIgnored(rel, ignored)) return;
    if (rel === '.dockerignore') void readDockerignore(folder).then((r) => (ignored = r), () => undefined);
    clearTimeout(debounce);
    debounce = setTimeout(() => onChange?.(), WATCH_DEBOUNCE_MS);
  });
  const note = (text: string) => (deps.isTTY ? deps.stdout.line(`\u001b[2m${text}\u001b[0m`) : deps.stdout.line(`note ${text}`));
  const ended = new Promise<'interrupted'>((resolve) => interrupted.addEventListener('abort', () => resolve('interrupted'), { once: true }));
  let code = 0;
  try {
    while (!interrupted.aborted) {
      const change = new Promise<'change'>((resolve) => (onChange = () => resolve('change')));
      const run = new AbortController();
      const stop = () => run.abort();
      interrupted.addEventListener('abort', stop, { once: true });
      const running = runOnce(deps, service, input, run.signal).catch(async (e: unknown) => {
        // A refused input (a bad Dockerfile argument, a bad value) waits for the next change rather than ending --watch.
        if (!(e instanceof CleanRoomsMLServiceException)) throw e;
        deps.printErr(`crml: ${e.name}: ${e.message}`);
        return EXIT_NOT_ACTIVE;
      });
      const first = await Promise.race([running, change]);
      if (first === 'change') {
        await note(`${folder} changed: cancelling the run to re-build`);
        run.abort();
        code = await running;
        interrupted.removeEventListener('abort', stop);
        continue;
      }
      interrupted.removeEventListener('abort', stop);
      code = first;
      if (interrupted.aborted) break;
      await note(`watching ${folder} for changes (Ctrl-C ends)`);
      if ((await Promise.race([change, ended])) === 'interrupted') break;
      await note(`${folder} changed: re-building`);
    }
  } finally {
    watcher.close();
    clearTimeout(debounce);
  }
  return interrupted.aborted ? EXIT_INTERRUPTED : code;
}
