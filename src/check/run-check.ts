import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanRoomsMLLocal } from '../api/service.js';
import type { ImageInfo } from '../runner/container-engine.js';
import { MODEL_ARTIFACT } from '../runner/artifact-packager.js';
import type { CheckCase, CheckSuite } from './check-case.js';
import { caseVerdict, finalMetricValues, type RunFacts } from './case-verdict.js';
import { findArchiveEntries } from './model-archive-entries.js';
import { scanLogLines } from './log-scan.js';
import { imagePlatformWarning, imageSourceWarning, unmatchedMetricWarnings } from './aws-warnings.js';
import { trainCase } from './train-case.js';

/**
 * passed: every expectation met. failed: the run missed one. error: the case could not be run (the request was
 * refused, the image could not be had, the runner itself failed), so it says nothing of the algorithm.
 */
export type CaseOutcome = 'passed' | 'failed' | 'error';

export interface CaseResult {
  suite: CheckSuite;
  case: CheckCase;
  outcome: CaseOutcome;
  /** Why it failed, or why it could not run. */
  reasons: string[];
  warnings: string[];
  trainedModelArn?: string;
  /** The image the run used: the one named, or the tag of the one built. */
  imageUri?: string;
  status?: string;
  statusCode?: string;
  statusMessage?: string;
  /** The case from start to verdict. */
  elapsedSeconds: number;
  finalMetrics: RunFacts['finalMetrics'];
  /** The run's last log lines, `host stream text`. */
  logTail: string[];
}

export interface RunCheckOptions {
  service: CleanRoomsMLLocal;
  /** How the image's platform is read (the engine's inspect); none: not checked. */
  inspectImage?: (reference: string) => Promise<Pick<ImageInfo, 'os' | 'architecture'> | undefined>;
  /** How many cases run at once (default 1). */
  parallel?: number;
  /** How many of a run's last log lines a result keeps (default 100). */
  logTailLines?: number;
  /** Labels on every container and network of every run (a test session's, so that its cleanup finds them). */
  labels?: Record<string, string>;
  /** Aborting cancels the runs under way; cases not yet started end as errors. */
  signal?: AbortSignal;
  onCaseStart?: (suite: CheckSuite, c: CheckCase) => void;
  onCaseEnd?: (result: CaseResult) => void;
  /** A line of an image build's output (a case with a build folder). */
  onBuildLine?: (c: CheckCase, line: string) => void;
}

/** Outcomes that mean the algorithm never got to run as asked, unless the case expects exactly that. */
const COULD_NOT_RUN = new Set(['IMAGE_PULL_FAILED', 'INTERNAL_ERROR']);

/** Runs every case of every suite through one service, `parallel` at a time; results in the suites' order. */
export async function runCheck(suites: readonly CheckSuite[], opts: RunCheckOptions): Promise<CaseResult[]> {
  const work = suites.flatMap((suite) => suite.cases.map((c) => ({ suite, c })));
  const results: CaseResult[] = new Array(work.length);
  const platforms = new Map<string, Promise<string | undefined>>();
  const platformWarning = (uri: string) => {
    if (!opts.inspectImage) return Promise.resolve(undefined);
    let w = platforms.get(uri);
    if (!w) {
      w = opts.inspectImage(uri).then((info) => imagePlatformWarning(uri, info), () => undefined);
      platforms.set(uri, w);
    }
    return w;
  };
  const builds = new Map<string, Promise<string>>();
  const session: Session = { platformWarning, start: (c) => startTraining(c, opts, builds) };
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const i = next++;
      const { suite, c } = work[i]!;
      if (opts.signal?.aborted) {
        results[i] = notRun(suite, c, 'not run: the check was interrupted');
        continue;
      }
      opts.onCaseStart?.(suite, c);
      results[i] = await runCase(suite, c, opts, session);
      opts.onCaseEnd?.(results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel ?? 1, work.length)) }, worker));
  return results;
}

/** What the cases of one check share: one inspection per image, one build per folder. */
interface Session {
  platformWarning(uri: string): Promise<string | undefined>;
  start(c: CheckCase): Promise<{ trainedModelArn: string; imageUri: string }>;
}

/**
 * Starts a case's run. Cases that build the same folder (a grid's) build it once: the first one builds, the
 * others run the image it made; if that first build fails, the next case tries again and says why itself.
 */
async function startTraining(c: CheckCase, opts: RunCheckOptions, builds: Map<string, Promise<string>>) {
  const build = c.training.build;
  const onBuildLine = opts.onBuildLine && ((line: string) => opts.onBuildLine!(c, line));
  const { labels, signal } = opts;
  if (!build) return trainCase(opts.service, c.training, c.name, { labels, signal });
  const key = JSON.stringify(build);
  const built = builds.get(key);
  const imageUri = built && (await built.catch(() => undefined));
  if (imageUri) return trainCase(opts.service, { ...c.training, build: undefined, imageUri }, c.name, { labels, signal });
  const run = trainCase(opts.service, c.training, c.name, { labels, signal, onBuildLine });
  const image = run.then((r) => r.imageUri);
  builds.set(key, image);
  image.catch(() => {
    if (builds.get(key) === image) builds.delete(key);
  });
  return run;
}

function notRun(suite: CheckSuite, c: CheckCase, reason: string): CaseResult {
  return { suite, case: c, outcome: 'error', reasons: [reason], warnings: [], elapsedSeconds: 0, finalMetrics: [], logTail: [] };
}

async function runCase(
  suite: CheckSuite,
  c: CheckCase,
  opts: RunCheckOptions,
  session: Session,
): Promise<CaseResult> {
  const { service } = opts;
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const warnings: string[] = [];
  const source = imageSourceWarning(c.training, service.settings.ecr.registries);
  if (source) warnings.push(source);

  let run: { trainedModelArn: string; imageUri: string };
  try {
    run = await session.start(c);
  } catch (e) {
    // A build or a request stopped by Ctrl-C created nothing.
    if (opts.signal?.aborted) return { ...notRun(suite, c, 'not run: the check was interrupted'), warnings, elapsedSeconds: elapsed() };
    const err = e as Error;
    return { ...notRun(suite, c, `could not start: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`), warnings, elapsedSeconds: elapsed() };
  }
  const { trainedModelArn } = run;
  const membershipIdentifier = service.settings.defaultMembershipId;
  const cancel = () => void service.cancelTrainedModel({ membershipIdentifier, trainedModelArn }).catch(() => undefined);
  if (opts.signal?.aborted) cancel();
  else opts.signal?.addEventListener('abort', cancel, { once: true });
  try {
    await service.waitForRuns(trainedModelArn);
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
  }
  try {
    return await judgeRun(suite, c, opts, session, { ...run, warnings, elapsed });
  } catch (e) {
    // One case whose outcome cannot be read (its artifacts removed meanwhile, say) does not end the whole check.
    return { ...notRun(suite, c, `could not check the run: ${(e as Error).message}`), warnings, trainedModelArn, elapsedSeconds: elapsed() };
  }
}

/** Reads what a finished run showed and judges it against the case's expectations. */
async function judgeRun(
  suite: CheckSuite,
  c: CheckCase,
  opts: RunCheckOptions,
  session: Session,
  run: { trainedModelArn: string; imageUri: string; warnings: string[]; elapsed: () => number },
): Promise<CaseResult> {
  const { service } = opts;
  const { trainedModelArn, warnings, elapsed } = run;
  const membershipIdentifier = service.settings.defaultMembershipId;
  const record = service.trainedModels.get(trainedModelArn)?.body;
  const status = record?.status ?? 'unknown';
  const statusCode = record?.statusDetails?.statusCode;
  const statusMessage = record?.statusDetails?.message;
  const points = await service.trainedModelMetrics({ membershipIdentifier, trainedModelArn });
  const logs = await scanLogLines(service.trainedModelLogs({ membershipIdentifier, trainedModelArn }), c.expect.logLines, opts.logTailLines ?? 100);
  const runRecord = record?.run;
  const modelPath = runRecord?.modelArtifactPath ?? (runRecord ? join(runRecord.artifactsDir, MODEL_ARTIFACT) : undefined);
  const model = modelPath && existsSync(modelPath) ? await findArchiveEntries(modelPath, c.expect.modelFiles) : undefined;
  const trainingSeconds =
    runRecord?.startedAt && runRecord.endedAt ? (Date.parse(runRecord.endedAt) - Date.parse(runRecord.startedAt)) / 1000 : undefined;
  const facts: RunFacts = { status, statusCode, statusMessage, trainingSeconds, finalMetrics: finalMetricValues(points), model, logs };

  const reasons = caseVerdict(c.expect, facts);
  const couldNotRun = reasons.length > 0 && statusCode !== undefined && COULD_NOT_RUN.has(statusCode) && c.expect.statusCode !== statusCode;
  const platform = await session.platformWarning(run.imageUri);
  if (platform) warnings.push(platform);
  // Only a green run is one that AWS might not make green: a failed one says little of its metric definitions.
  if (status === 'ACTIVE') warnings.push(...unmatchedMetricWarnings(c.training.metricDefinitions ?? [], new Set(points.map((p) => p.name))));
  return {
    suite,
    case: c,
    outcome: reasons.length === 0 ? 'passed' : couldNotRun ? 'error' : 'failed',
    reasons: couldNotRun ? [`could not run: ${statusCode}${statusMessage ? `: ${statusMessage}` : ''}`] : reasons,
    warnings,
    trainedModelArn,
    imageUri: run.imageUri,
    status,
    statusCode,
    statusMessage,
    elapsedSeconds: elapsed(),
    finalMetrics: facts.finalMetrics,
    logTail: logs.tail,
  };
}
