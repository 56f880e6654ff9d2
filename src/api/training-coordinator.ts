import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { checkArtifactSize } from '../privacy/index.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { Store } from './store.js';
import type * as T from './generated/types.js';
import type { LogLine, MetricPoint, ReattachOptions, RunResult, TrainingJobSpec, TrainingRunner } from '../runner/types.js';
import { canTransition } from './trained-model-status.js';
import { resourceIdOfArn } from './arns.js';
import { LABEL_TRAINED_MODEL, LABEL_VERSION } from '../runner/container-config.js';
import { runFailed, runLost } from '../runner/run-outcome.js';
import type { TrainedModelRecord } from './operations/trained-models.js';

const KIND = 'trained-model';
const FLUSH_INTERVAL_MS = 200;
const FLUSH_LINES = 1000;
/** Statuses in which some process must still be working on a trained model. */
const UNFINISHED: readonly T.TrainedModelStatus[] = [
  'CREATE_PENDING', 'CREATE_IN_PROGRESS', 'CANCEL_PENDING', 'CANCEL_IN_PROGRESS', 'DELETE_PENDING', 'DELETE_IN_PROGRESS',
];
export const LABEL_STORE = 'crml.store';

/** The process that works on a run: if it is gone, the next process to open the store takes over. */
export interface RunOwner {
  pid: number;
  hostname: string;
}

function ownerAlive(owner: RunOwner | undefined): boolean {
  if (!owner || owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process nobody reaped yet is a zombie: it answers signals but runs nothing.
  try {
    const stat = readFileSync(`/proc/${owner.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

type ExecuteMode = { kind: 'run' } | ({ kind: 'reattach' } & ReattachOptions);

export interface TrainingCoordinatorDeps {
  store: Store;
  settings: Settings;
  logger: Logger;
  clock: () => Date;
  /** Created on first use, so that API-only uses (listing, the HTTP tests) never need an engine. */
  runner: () => Promise<TrainingRunner>;
  /** Told of every image pull's progress (the CLI draws it on a terminal). */
  onPullProgress?: (trainedModelArn: string, progress: { id?: string; status: string; progress?: string }) => void;
}

interface ActiveRun {
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Hands accepted trained models to the runner and turns what it reports into stored state:
 * status changes through the transition table, log lines and metric points in batches, the final result.
 */
export class TrainingCoordinator {
  private readonly active = new Map<string, ActiveRun>();
  private cancelWatch: NodeJS.Timeout | undefined;

  constructor(private readonly deps: TrainingCoordinatorDeps) {}

  artifactsDir(arn: string, versionId: string): string {
    return join(this.deps.settings.dataDir, 'artifacts', resourceIdOfArn(arn), versionId || 'base');
  }

  /**
   * Inputs a run reads that are not channels of the store: a base model's model.tar.gz for incremental training.
   * A hard link, so deleting the base's output meanwhile takes nothing from the run; removed when the run ends.
   */
  inputsDir(arn: string, versionId: string): string {
    return join(this.deps.settings.dataDir, 'inputs', resourceIdOfArn(arn), versionId || 'base');
  }

  /** Label on every container of this store's runs: which containers are this store's to reconcile. */
  get storeLabel(): string {
    return createHash('sha256').update(join(this.deps.settings.dataDir)).digest('hex').slice(0, 16);
  }

  /** Starts the run of a stored CREATE_PENDING trained model in this process. */
  start(arn: string, versionId: string, spec: Omit<TrainingJobSpec, 'artifactsDir'>): void {
    this.launch(arn, versionId, spec, { kind: 'run' });
  }

  private launch(arn: string, versionId: string, base: Omit<TrainingJobSpec, 'artifactsDir'>, mode: ExecuteMode): void {
    const key = `${arn}#${versionId}`;
    const abort = new AbortController();
    const spec = { ...base, labels: { ...base.labels, [LABEL_STORE]: this.storeLabel } };
    // Who runs it and with what, stored first: another process can take over if this one dies.
    this.patch(arn, versionId, (cur) => ({ run: { ...cur.run, artifactsDir: this.artifactsDir(arn, versionId), spec, owner: { pid: process.pid, hostname: hostname() } } }));
    const done = this.execute(arn, versionId, spec, abort.signal, mode).finally(() => {
      this.active.delete(key);
      if (this.active.size === 0 && this.cancelWatch) {
        clearInterval(this.cancelWatch);
        this.cancelWatch = undefined;
      }
    });
    this.active.set(key, { abort, done });
    // A cancel may come from another process (the CLI while the server runs): watch the store for it.
    this.cancelWatch ??= setInterval(() => this.pollCancels(), 500);
    this.cancelWatch.unref();
  }

  /** Aborts a run of this process; returns false when the run is not here. */
  cancel(arn: string, versionId: string): boolean {
    const run = this.active.get(`${arn}#${versionId}`);
    if (!run) return false;
    run.abort.abort();
    return true;
  }

  isRunningHere(arn: string, versionId: string): boolean {
    return this.active.has(`${arn}#${versionId}`);
  }

  /** Resolves when the given run (or every run, without arguments) of this process has finished. */
  async idle(arn?: string, versionId = ''): Promise<void> {
    if (arn !== undefined) {
      await this.active.get(`${arn}#${versionId}`)?.done;
      return;
    }
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((r) => r.done));
  }

  private pollCancels(): void {
    for (const [key, run] of this.active) {
      const [arn, versionId] = key.split('#') as [string, string];
      const status = this.deps.store.get<TrainedModelRecord>(KIND, arn, versionId)?.status;
      if (status === 'CANCEL_PENDING' && !run.abort.signal.aborted) run.abort.abort();
    }
  }

  private transition(
    arn: string,
    versionId: string,
    to: T.TrainedModelStatus,
    patch: Partial<TrainedModelRecord> = {},
  ): boolean {
    let applied = false;
    this.deps.store.update<TrainedModelRecord>(KIND, arn, versionId, (cur) => {
      const from = cur.body.status;
      applied = from === to || canTransition(from, to);
      if (!applied) return { body: cur.body };
      return {
        body: { ...cur.body, ...patch, status: to, updateTime: this.deps.clock().toISOString() },
        status: to,
      };
    });
    return applied;
  }

  private patch(arn: string, versionId: string, patch: (cur: TrainedModelRecord) => Partial<TrainedModelRecord>): void {
    this.deps.store.update<TrainedModelRecord>(KIND, arn, versionId, (cur) => ({
      body: { ...cur.body, ...patch(cur.body) },
    }));
  }

  /**
   * Takes over what dead processes left: a run still going is re-attached, one that ended is finished, one
   * whose container is gone is failed with the reason; containers of this store that no run owns are removed.
   */
  async reconcile(): Promise<void> {
    const log = this.deps.logger.child({ reconcile: true });
    const orphans = this.deps.store.listByStatus<TrainedModelRecord>(KIND, UNFINISHED).filter((r) => !ownerAlive(r.body.run?.owner));
    for (const r of orphans) {
      // Claim it in one transaction, so that two processes opening the store do not both take it.
      let claimed = false;
      this.deps.store.update<TrainedModelRecord>(KIND, r.arn, r.versionId, (cur) => {
        if (ownerAlive(cur.body.run?.owner) || !UNFINISHED.includes(cur.body.status)) return { body: cur.body };
        claimed = true;
        return { body: { ...cur.body, run: { ...cur.body.run!, owner: { pid: process.pid, hostname: hostname() } } } };
      });
      if (!claimed) continue;
      const body = this.deps.store.get<TrainedModelRecord>(KIND, r.arn, r.versionId)!.body;
      log.warn({ trainedModelArn: r.arn, status: body.status }, 'taking over a run whose process is gone');
      if (body.status === 'DELETE_PENDING' || body.status === 'DELETE_IN_PROGRESS') {
        this.removeOutput(r.arn, r.versionId);
        continue;
      }
      const spec = body.run?.spec;
      if (!spec) {
        this.finish(r.arn, r.versionId, this.lost('its request was not recorded'), { artifactsDir: this.artifactsDir(r.arn, r.versionId) });
        continue;
      }
      if (body.status === 'CREATE_PENDING') {
        // Nothing started yet (waiting for room, or pulling): start it again from the beginning.
        this.launch(r.arn, r.versionId, spec, { kind: 'run' });
        continue;
      }
      const startedAt = new Date(body.run?.startedAt ?? body.updateTime);
      this.launch(r.arn, r.versionId, spec, {
        kind: 'reattach',
        startedAt,
        skipLines: this.deps.store.countLogLines(r.arn, r.versionId),
        skipLinesByHost: this.deps.store.countLogLinesByHost(r.arn, r.versionId),
      });
      if (body.status === 'CANCEL_PENDING' || body.status === 'CANCEL_IN_PROGRESS') this.cancel(r.arn, r.versionId);
    }
    await this.removeStrayContainers(log);
  }

  private async removeStrayContainers(log: Logger): Promise<void> {
    const runner = await this.deps.runner();
    if (!runner.removeContainers) return;
    // Read once: a container is stray unless a run of this store still needs it.
    const unfinished = new Set(this.deps.store.listByStatus<TrainedModelRecord>(KIND, UNFINISHED).map((r) => `${r.arn}#${r.versionId}`));
    await runner.removeContainers(`${LABEL_STORE}=${this.storeLabel}`, (labels) => {
      const arn = labels[LABEL_TRAINED_MODEL];
      const key = `${arn}#${labels[LABEL_VERSION] ?? ''}`;
      return !arn || (!this.active.has(key) && !unfinished.has(key));
    }).catch((e) => log.error({ err: e }, 'could not list containers to reconcile'));
  }

  private lost(why: string, cancelled = false): RunResult {
    return runLost(why, this.deps.clock(), cancelled ? 'cancel' : undefined);
  }

  private async execute(
    arn: string,
    versionId: string,
    base: Omit<TrainingJobSpec, 'artifactsDir'>,
    signal: AbortSignal,
    mode: ExecuteMode,
  ): Promise<void> {
    const log = this.deps.logger.child({ trainedModelArn: arn, versionId: versionId || undefined });
    const artifactsDir = this.artifactsDir(arn, versionId);
    if (mode.kind === 'run') rmSync(artifactsDir, { recursive: true, force: true });
    mkdirSync(artifactsDir, { recursive: true });
    const spec: TrainingJobSpec = { ...base, artifactsDir };

    const lines: LogLine[] = [];
    const points: MetricPoint[] = [];
    let logsFailed: string | undefined;
    let metricsFailed: string | undefined;
    const flush = () => {
      try {
        this.deps.store.appendLogLines(arn, versionId, lines.splice(0));
      } catch (e) {
        logsFailed ??= `Log lines could not be stored: ${(e as Error).message}`;
      }
      try {
        this.deps.store.appendMetricPoints(arn, versionId, points.splice(0));
      } catch (e) {
        metricsFailed ??= `Metric points could not be stored: ${(e as Error).message}`;
      }
    };
    const timer = setInterval(flush, FLUSH_INTERVAL_MS);
    signal.addEventListener('abort', () => this.transition(arn, versionId, 'CANCEL_IN_PROGRESS'), { once: true });

    let result: RunResult;
    try {
      const runner = await this.deps.runner();
      const events = {
          onStarted: ({ imageDigest }: { imageDigest: string }) => {
            this.patch(arn, versionId, (cur) => ({ run: { ...cur.run!, startedAt: this.deps.clock().toISOString() } }));
            this.transition(arn, versionId, 'CREATE_IN_PROGRESS', { trainingContainerImageDigest: imageDigest });
          },
          onLogLine: (l: LogLine) => {
            lines.push(l);
            if (lines.length >= FLUSH_LINES) flush();
          },
          onMetric: (p: MetricPoint) => {
            points.push(p);
            if (points.length >= FLUSH_LINES) flush();
          },
          onPullProgress: (p: { id?: string; status: string; progress?: string }) => this.deps.onPullProgress?.(arn, p),
      };
      if (mode.kind === 'run') {
        result = await runner.run(spec, events, signal);
      } else {
        result =
          (await runner.reattach?.(spec, events, signal, mode)) ??
          this.lost('its container is gone', signal.aborted);
      }
    } catch (e) {
      log.error({ err: e }, 'the runner failed');
      const now = this.deps.clock();
      result = runFailed(now, 'INTERNAL_ERROR', `cleanrooms-ml-local could not run the training job: ${(e as Error).message}`, {
        endedAt: now,
        cause: e,
        stopReason: signal.aborted ? 'cancel' : undefined,
      });
    } finally {
      clearInterval(timer);
      flush();
    }
    this.finish(arn, versionId, result, { logsFailed, metricsFailed, artifactsDir });
    log.info({ succeeded: result.succeeded, statusCode: result.statusCode, durationMs: result.durationMs }, 'run finished');
  }

  private finish(
    arn: string,
    versionId: string,
    result: RunResult,
    extra: { logsFailed?: string; metricsFailed?: string; artifactsDir: string },
  ): void {
    const common: Partial<TrainedModelRecord> = {
      logsStatus: extra.logsFailed ? 'PUBLISH_FAILED' : 'PUBLISH_SUCCEEDED',
      logsStatusDetails: extra.logsFailed,
      metricsStatus: extra.metricsFailed ? 'PUBLISH_FAILED' : 'PUBLISH_SUCCEEDED',
      metricsStatusDetails: extra.metricsFailed,
      trainingContainerImageDigest: result.imageDigest,
    };
    this.patch(arn, versionId, (cur) => ({
      run: {
        ...cur.run,
        // What the container actually got (scaled down to this host, or not).
        limits: result.limits,
        artifactsDir: extra.artifactsDir,
        modelArtifactPath: result.modelArtifactPath,
        outputArtifactPath: result.outputArtifactPath,
        exitCode: result.exitCode,
        endedAt: result.endedAt.toISOString(),
      },
    }));
    if (!result.imageDigest) delete common.trainingContainerImageDigest;
    rmSync(this.inputsDir(arn, versionId), { recursive: true, force: true });
    if (result.stopReason === 'cancel') {
      this.transition(arn, versionId, 'CANCEL_IN_PROGRESS');
      this.transition(arn, versionId, 'INACTIVE', {
        ...common,
        statusDetails: { statusCode: 'CANCELLED', message: result.succeeded ? 'The trained model was cancelled.' : result.message },
      });
      return;
    }
    const tooLarge = result.succeeded ? this.artifactSizeProblem(arn, versionId, result) : undefined;
    if (result.succeeded && !tooLarge) {
      // A run that was never marked in progress (onStarted not called) still passes through it.
      this.transition(arn, versionId, 'CREATE_IN_PROGRESS');
      this.transition(arn, versionId, 'ACTIVE', common);
      return;
    }
    if (tooLarge) {
      this.transition(arn, versionId, 'CREATE_FAILED', { ...common, statusDetails: { statusCode: 'ALGORITHM_ERROR', message: tooLarge } });
      return;
    }
    this.transition(arn, versionId, 'CREATE_FAILED', {
      ...common,
      statusDetails: { statusCode: result.statusCode ?? 'INTERNAL_ERROR', message: result.message },
    });
  }

  /** The association's maxArtifactSize, checked on what the run packaged. */
  private artifactSizeProblem(arn: string, versionId: string, result: RunResult): string | undefined {
    const policy = this.deps.store.get<TrainedModelRecord>(KIND, arn, versionId)?.body.run?.maxArtifactSize;
    if (!policy) return undefined;
    const bytes = [result.modelArtifactPath, result.outputArtifactPath]
      .filter((p): p is string => Boolean(p))
      .reduce((sum, p) => sum + (existsSync(p) ? statSync(p).size : 0), 0);
    return checkArtifactSize(bytes, policy);
  }

  /** DeleteTrainedModelOutput: DELETE_PENDING → DELETE_IN_PROGRESS → INACTIVE, artifacts removed. */
  deleteOutput(arn: string, versionId: string): void {
    if (!this.transition(arn, versionId, 'DELETE_PENDING')) return;
    this.removeOutput(arn, versionId);
  }

  private removeOutput(arn: string, versionId: string): void {
    this.transition(arn, versionId, 'DELETE_IN_PROGRESS');
    try {
      rmSync(this.artifactsDir(arn, versionId), { recursive: true, force: true });
      this.transition(arn, versionId, 'INACTIVE');
      this.patch(arn, versionId, (cur) => ({ run: cur.run && { artifactsDir: cur.run.artifactsDir } }));
    } catch (e) {
      this.transition(arn, versionId, 'DELETE_FAILED', {
        statusDetails: { statusCode: 'INTERNAL_ERROR', message: `Artifacts could not be removed: ${(e as Error).message}` },
      });
    }
  }
}
