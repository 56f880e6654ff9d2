import { mkdirSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { Store } from './store.js';
import type { LogLine, MetricPoint, ReattachOptions, RunResult, TrainingJobSpec, TrainingRunner } from '../runner/types.js';
import { storeLabels } from '../runner/stray-runs.js';
import { isTerminal, UNFINISHED_STATUSES } from './trained-model-status.js';
import type { RunRecord, RunSpec, TrainedModelRecord, TrainedModelRecords } from './trained-model-records.js';
import { ownerAlive, thisProcess } from './run-owner.js';
import { ActiveRuns, storeIdOf } from './active-runs.js';
import { runFailed, runLost } from '../runner/run-outcome.js';

const FLUSH_INTERVAL_MS = 200;
const FLUSH_LINES = 1000;

type ExecuteMode = { kind: 'run' } | ({ kind: 'reattach' } & ReattachOptions);

export interface TrainingCoordinatorDeps {
  store: Store;
  records: TrainedModelRecords;
  settings: Settings;
  logger: Logger;
  clock: () => Date;
  /** Created on first use, so that API-only uses (listing, the HTTP tests) never need an engine. */
  runner: () => Promise<TrainingRunner>;
  /** Told of every image pull's progress (the CLI draws it on a terminal). */
  onPullProgress?: (trainedModelArn: string, progress: { id?: string; status: string; progress?: string }) => void;
}

/**
 * Hands accepted trained models to the runner and turns what it reports into stored state:
 * status changes through the transition table, log lines and metric points in batches, the final result.
 */
export class TrainingCoordinator {
  private readonly active = new ActiveRuns((key) => {
    const [arn, versionId] = key.split('#') as [string, string];
    return this.records.get(arn, versionId)?.body.status === 'CANCEL_PENDING';
  });

  constructor(private readonly deps: TrainingCoordinatorDeps) {}

  private get records(): TrainedModelRecords {
    return this.deps.records;
  }

  /** Which store this is, on every container of its runs: which containers are this store's to reconcile. */
  private get storeId(): string {
    return storeIdOf(this.deps.settings.dataDir);
  }

  /**
   * Stores a new CREATE_PENDING trained model with its run's spec and this process as its owner, in one
   * transaction (with its tags, after `check`), and starts the run here.
   */
  start(record: TrainedModelRecord, base: RunSpec, opts: { tags?: Record<string, string>; check?: () => void } = {}): void {
    const spec = { ...base, labels: { ...base.labels, ...storeLabels(this.storeId) } };
    this.records.insert(record, { spec, owner: thisProcess() }, opts);
    this.launch(record.trainedModelArn, record.versionIdentifier ?? '', spec, { kind: 'run' });
  }

  private launch(arn: string, versionId: string, spec: RunSpec, mode: ExecuteMode): void {
    this.active.launch(`${arn}#${versionId}`, (signal) => this.execute(arn, versionId, spec, signal, mode));
  }

  /** Aborts a run of this process; returns false when the run is not here. */
  cancel(arn: string, versionId: string): boolean {
    return this.active.abort(`${arn}#${versionId}`);
  }

  isRunningHere(arn: string, versionId: string): boolean {
    return this.active.has(`${arn}#${versionId}`);
  }

  /** Resolves when the given run (or every run, without arguments) of this process has finished. */
  async idle(arn?: string, versionId = ''): Promise<void> {
    await this.active.idle(arn === undefined ? undefined : `${arn}#${versionId}`);
  }

  /**
   * Takes over what dead processes left: a run still going is re-attached, one that ended is finished, one
   * whose container is gone is failed with the reason; containers of this store that no run owns are removed.
   */
  async reconcile(): Promise<void> {
    const log = this.deps.logger.child({ reconcile: true });
    const orphans = this.records.listByStatus(UNFINISHED_STATUSES).filter((r) => !ownerAlive(r.body.run?.owner));
    for (const r of orphans) {
      // Claim it in one transaction, so that two processes opening the store do not both take it.
      let claimed = false;
      const body = this.records.updateRun(r.arn, r.versionId, (cur): RunRecord | undefined => {
        if (ownerAlive(cur.run?.owner) || isTerminal(cur.status)) return cur.run;
        claimed = true;
        return { artifactsDir: this.records.artifactsDir(r.arn, r.versionId), ...cur.run, owner: thisProcess() };
      });
      if (!claimed || !body) continue;
      log.warn({ trainedModelArn: r.arn, status: body.status }, 'taking over a run whose process is gone');
      if (body.status === 'DELETE_PENDING' || body.status === 'DELETE_IN_PROGRESS') {
        this.removeOutput(r.arn, r.versionId);
        continue;
      }
      const spec = body.run?.spec;
      if (!spec) {
        this.finish(r.arn, r.versionId, this.lost('its request was not recorded'), { artifactsDir: this.records.artifactsDir(r.arn, r.versionId) });
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
    // Leftovers of other kinds whose process died are reconciled here, before the stray containers go.
    await this.removeStrayRuns(log);
  }

  private async removeStrayRuns(log: Logger): Promise<void> {
    const runner = await this.deps.runner();
    if (!runner.removeStrayRuns) return;
    // Read once: a run's containers are stray unless a run of this store still needs them.
    const unfinished = new Set(this.records.listByStatus(UNFINISHED_STATUSES).map((r) => `${r.arn}#${r.versionId}`));
    await runner
      .removeStrayRuns(this.storeId, ({ trainedModelArn, versionIdentifier }) => {
        const key = `${trainedModelArn}#${versionIdentifier}`;
        return this.active.has(key) || unfinished.has(key);
      })
      .catch((e) => log.error({ err: e }, 'could not list containers to reconcile'));
  }

  private lost(why: string, cancelled = false): RunResult {
    return runLost(why, this.deps.clock(), cancelled ? 'cancel' : undefined);
  }

  private async execute(
    arn: string,
    versionId: string,
    base: RunSpec,
    signal: AbortSignal,
    mode: ExecuteMode,
  ): Promise<void> {
    const log = this.deps.logger.child({ trainedModelArn: arn, versionId: versionId || undefined });
    const artifactsDir = this.records.artifactsDir(arn, versionId);
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
    signal.addEventListener('abort', () => this.records.transition(arn, versionId, 'CANCEL_IN_PROGRESS'), { once: true });

    let result: RunResult;
    try {
      const runner = await this.deps.runner();
      const events = {
          onStarted: ({ imageDigest }: { imageDigest: string }) => {
            // When it started counts even if a cancel came first: a process taking over measures the deadline from it.
            const startedAt = this.deps.clock().toISOString();
            this.records.transition(arn, versionId, 'CREATE_IN_PROGRESS', {
              patch: { trainingContainerImageDigest: imageDigest },
              always: (cur) => ({ run: { ...cur.run!, startedAt } }),
            });
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
    // What the run did is stored with its status, in the same write, whoever decided the status.
    const run = (cur: TrainedModelRecord): Partial<TrainedModelRecord> => ({
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
    });
    if (!result.imageDigest) delete common.trainingContainerImageDigest;
    rmSync(this.records.inputsDir(arn, versionId), { recursive: true, force: true });
    if (result.stopReason === 'cancel') {
      this.records.transition(arn, versionId, 'INACTIVE', {
        via: 'CANCEL_IN_PROGRESS',
        patch: { ...common, statusDetails: { statusCode: 'CANCELLED', message: result.succeeded ? 'The trained model was cancelled.' : result.message } },
        always: run,
      });
      return;
    }
    if (result.succeeded) {
      // A run that was never marked in progress (onStarted not called) still passes through it.
      this.records.transition(arn, versionId, 'ACTIVE', { via: 'CREATE_IN_PROGRESS', patch: common, always: run });
      return;
    }
    this.records.transition(arn, versionId, 'CREATE_FAILED', {
      patch: { ...common, statusDetails: { statusCode: result.statusCode ?? 'INTERNAL_ERROR', message: result.message } },
      always: run,
    });
  }

  /** DeleteTrainedModelOutput: DELETE_PENDING → DELETE_IN_PROGRESS → INACTIVE, artifacts removed. */
  deleteOutput(arn: string, versionId: string): void {
    if (!this.records.transition(arn, versionId, 'DELETE_PENDING')) return;
    this.removeOutput(arn, versionId);
  }

  private removeOutput(arn: string, versionId: string): void {
    this.records.transition(arn, versionId, 'DELETE_IN_PROGRESS');
    try {
      rmSync(this.records.artifactsDir(arn, versionId), { recursive: true, force: true });
      // The run's paths name files that are gone: only the folder is kept.
      this.records.transition(arn, versionId, 'INACTIVE', { always: (cur) => ({ run: cur.run && { artifactsDir: cur.run.artifactsDir } }) });
    } catch (e) {
      this.records.transition(arn, versionId, 'DELETE_FAILED', {
        patch: { statusDetails: { statusCode: 'INTERNAL_ERROR', message: `Artifacts could not be removed: ${(e as Error).message}` } },
      });
    }
  }
}
