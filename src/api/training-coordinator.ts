import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { Store } from './store.js';
import type * as T from './generated/types.js';
import type { LogLine, MetricPoint, RunResult, TrainingJobSpec, TrainingRunner } from '../runner/types.js';
import { canTransition } from './trained-model-status.js';
import { resourceIdOfArn } from './arns.js';
import type { TrainedModelRecord } from './operations/trained-models.js';

const KIND = 'trained-model';
const FLUSH_INTERVAL_MS = 200;
const FLUSH_LINES = 1000;

export interface TrainingCoordinatorDeps {
  store: Store;
  settings: Settings;
  logger: Logger;
  clock: () => Date;
  /** Created on first use, so that API-only uses (listing, the HTTP tests) never need an engine. */
  runner: () => Promise<TrainingRunner>;
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

  /** Starts the run of a stored CREATE_PENDING trained model in this process. */
  start(arn: string, versionId: string, spec: Omit<TrainingJobSpec, 'artifactsDir'>): void {
    const key = `${arn}#${versionId}`;
    const abort = new AbortController();
    const done = this.execute(arn, versionId, spec, abort.signal).finally(() => {
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

  private patch(arn: string, versionId: string, patch: Partial<TrainedModelRecord>): void {
    this.deps.store.update<TrainedModelRecord>(KIND, arn, versionId, (cur) => ({
      body: { ...cur.body, ...patch, updateTime: this.deps.clock().toISOString() },
    }));
  }

  private async execute(
    arn: string,
    versionId: string,
    base: Omit<TrainingJobSpec, 'artifactsDir'>,
    signal: AbortSignal,
  ): Promise<void> {
    const log = this.deps.logger.child({ trainedModelArn: arn, versionId: versionId || undefined });
    const artifactsDir = this.artifactsDir(arn, versionId);
    rmSync(artifactsDir, { recursive: true, force: true });
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
      result = await runner.run(
        spec,
        {
          onStarted: ({ imageDigest }) => {
            this.transition(arn, versionId, 'CREATE_IN_PROGRESS', { trainingContainerImageDigest: imageDigest });
          },
          onLogLine: (l) => {
            lines.push(l);
            if (lines.length >= FLUSH_LINES) flush();
          },
          onMetric: (p) => {
            points.push(p);
            if (points.length >= FLUSH_LINES) flush();
          },
        },
        signal,
      );
    } catch (e) {
      log.error({ err: e }, 'the runner failed');
      const now = this.deps.clock();
      result = {
        succeeded: false,
        statusCode: 'INTERNAL_ERROR',
        message: `cleanrooms-ml-local could not run the training job: ${(e as Error).message}`,
        timedOut: false,
        cancelled: signal.aborted,
        startedAt: now,
        endedAt: now,
        durationMs: 0,
        cause: e,
      };
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
      run: {
        artifactsDir: extra.artifactsDir,
        modelArtifactPath: result.modelArtifactPath,
        outputArtifactPath: result.outputArtifactPath,
        exitCode: result.exitCode,
        startedAt: result.startedAt.toISOString(),
        endedAt: result.endedAt.toISOString(),
      },
    };
    if (result.cancelled || result.statusCode === 'CANCELLED') {
      this.transition(arn, versionId, 'CANCEL_IN_PROGRESS');
      this.transition(arn, versionId, 'INACTIVE', {
        ...common,
        statusDetails: { statusCode: 'CANCELLED', message: result.message ?? 'The trained model was cancelled.' },
      });
      return;
    }
    if (result.succeeded) {
      // A run that was never marked in progress (onStarted not called) still passes through it.
      this.transition(arn, versionId, 'CREATE_IN_PROGRESS');
      this.transition(arn, versionId, 'ACTIVE', common);
      return;
    }
    this.transition(arn, versionId, 'CREATE_FAILED', {
      ...common,
      statusDetails: { statusCode: result.statusCode ?? 'INTERNAL_ERROR', message: result.message },
    });
  }

  /** DeleteTrainedModelOutput: DELETE_PENDING → DELETE_IN_PROGRESS → INACTIVE, artifacts removed. */
  deleteOutput(arn: string, versionId: string): void {
    if (!this.transition(arn, versionId, 'DELETE_PENDING')) return;
    this.transition(arn, versionId, 'DELETE_IN_PROGRESS');
    try {
      rmSync(this.artifactsDir(arn, versionId), { recursive: true, force: true });
      this.transition(arn, versionId, 'INACTIVE', { run: undefined });
    } catch (e) {
      this.transition(arn, versionId, 'DELETE_FAILED', {
        statusDetails: { statusCode: 'INTERNAL_ERROR', message: `Artifacts could not be removed: ${(e as Error).message}` },
      });
    }
  }
}
