import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { Store, Stored } from './store.js';
import type * as T from './generated/types.js';
import type { LogLine } from '../runner/types.js';
import type { InferenceJobSpec, InferenceResult, InferenceRunner } from '../inference/types.js';
import { inferenceStoreLabels } from '../inference/inference-labels.js';
import { resourceIdOfArn } from './arns.js';
import { ownerAlive, thisProcess, type ProcessOwner } from './run-owner.js';
import { ActiveRuns, storeIdOf } from './active-runs.js';

export const INFERENCE_JOB_KIND = 'trained-model-inference-job';

/** What the runner gets, less the job's folder (which follows from where the record lives). */
export type InferenceRunSpec = Omit<InferenceJobSpec, 'jobDir'>;

export type InferenceJobRecord = Stored<T.GetTrainedModelInferenceJobResponse> & {
  collaborationIdentifier: string;
  creatorAccountId: string;
  run: {
    spec: InferenceRunSpec;
    owner: ProcessOwner;
    jobDir: string;
    outputDir?: string;
    outputArtifactPath?: string;
    startedAt?: string;
    endedAt?: string;
  };
};

type Status = T.TrainedModelInferenceJobStatus;

/** Every status change of an inference job goes through this table (issue 19), stored before it is announced. */
const TRANSITIONS: Record<Status, readonly Status[]> = {
  CREATE_PENDING: ['CREATE_IN_PROGRESS', 'CREATE_FAILED', 'CANCEL_PENDING'],
  CREATE_IN_PROGRESS: ['ACTIVE', 'CREATE_FAILED', 'CANCEL_PENDING'],
  CANCEL_PENDING: ['CANCEL_IN_PROGRESS', 'INACTIVE', 'CANCEL_FAILED'],
  CANCEL_IN_PROGRESS: ['INACTIVE', 'CANCEL_FAILED'],
  ACTIVE: [],
  CREATE_FAILED: [],
  CANCEL_FAILED: [],
  INACTIVE: [],
};

export const RUNNING_INFERENCE_STATUSES: readonly Status[] = ['CREATE_PENDING', 'CREATE_IN_PROGRESS'];
export const UNFINISHED_INFERENCE_STATUSES: readonly Status[] = ['CREATE_PENDING', 'CREATE_IN_PROGRESS', 'CANCEL_PENDING', 'CANCEL_IN_PROGRESS'];

export interface InferenceCoordinatorDeps {
  store: Store;
  settings: Settings;
  logger: Logger;
  clock: () => Date;
  /** Created on first use, so that API-only uses never need an engine. */
  runner: () => Promise<InferenceRunner>;
}

const FLUSH_INTERVAL_MS = 200;
const FLUSH_LINES = 1000;

/**
 * Hands accepted inference jobs to the runner and turns what it reports into stored state: status changes
 * through the transition table, log lines in batches, the result. A job whose process died is failed (not
 * resumed: its requests in flight are lost) and its containers removed.
 */
export class InferenceJobCoordinator {
  private readonly active = new ActiveRuns((arn) => this.get(arn)?.status === 'CANCEL_PENDING');

  constructor(private readonly deps: InferenceCoordinatorDeps) {}

  /** Which store this is, on every container of its jobs. */
  get storeId(): string {
    return storeIdOf(this.deps.settings.dataDir);
  }

  /** Where a job's output (output/, output.tar.gz) and its extracted model live. */
  jobDir(arn: string): string {
    return join(this.deps.settings.dataDir, 'inference', resourceIdOfArn(arn));
  }

  get(arn: string): InferenceJobRecord | undefined {
    return this.deps.store.get<InferenceJobRecord>(INFERENCE_JOB_KIND, arn)?.body;
  }

  /** Stores the CREATE_PENDING job with its spec and owner in one transaction (after `check`, the quota), then runs it here. */
  start(record: Omit<InferenceJobRecord, 'run'>, base: InferenceRunSpec, opts: { tags?: Record<string, string>; check?: () => void }): void {
    const arn = record.trainedModelInferenceJobArn;
    const spec: InferenceRunSpec = { ...base, labels: { ...base.labels, ...inferenceStoreLabels(this.storeId) } };
    const body: InferenceJobRecord = { ...record, run: { spec, owner: thisProcess(), jobDir: this.jobDir(arn) } };
    this.deps.store.insertWithTags(
      { kind: INFERENCE_JOB_KIND, arn, membershipId: record.membershipIdentifier, status: record.status, body },
      opts.tags,
      opts.check,
    );
    this.active.launch(arn, (signal) => this.execute(arn, spec, signal));
  }

  /** CancelTrainedModelInferenceJob: false when the table refused (the job ended meanwhile). */
  cancel(arn: string): boolean {
    if (!this.transition(arn, 'CANCEL_PENDING')) return false;
    if (!this.active.abort(arn) && !ownerAlive(this.get(arn)?.run.owner)) this.finish(arn, this.lost('it was cancelled while no process ran it', true));
    return true;
  }

  async idle(arn?: string): Promise<void> {
    await this.active.idle(arn);
  }

  /** The one writer of `status`: applies `to` when the table allows it, with `patch`, in one transaction. */
  transition(arn: string, to: Status, patch: Partial<InferenceJobRecord> = {}, via?: Status): boolean {
    let applied = false;
    this.deps.store.update<InferenceJobRecord>(INFERENCE_JOB_KIND, arn, '', (cur) => {
      let from = cur.body.status;
      if (via && from !== via && TRANSITIONS[from].includes(via)) from = via;
      applied = TRANSITIONS[from].includes(to);
      const run = { ...cur.body.run, ...patch.run };
      if (!applied) return { body: { ...cur.body, run } };
      return { body: { ...cur.body, ...patch, run, status: to, updateTime: this.deps.clock().toISOString() }, status: to };
    });
    return applied;
  }

  /** Jobs whose process died: failed with the reason (or INACTIVE when a cancel was pending); stray containers removed. */
  async reconcile(): Promise<void> {
    const log = this.deps.logger.child({ reconcile: 'inference' });
    for (const r of this.deps.store.listByStatus<InferenceJobRecord>(INFERENCE_JOB_KIND, UNFINISHED_INFERENCE_STATUSES)) {
      if (this.active.has(r.arn) || ownerAlive(r.body.run.owner)) continue;
      const cancelled = r.body.status === 'CANCEL_PENDING' || r.body.status === 'CANCEL_IN_PROGRESS';
      log.warn({ trainedModelInferenceJobArn: r.arn, status: r.body.status }, 'failing an inference job whose process is gone');
      this.finish(r.arn, this.lost(`the process that ran it (pid ${r.body.run.owner.pid}) stopped`, cancelled));
      // The model it extracted is a copy: the trained model's own model.tar.gz stays.
      rmSync(join(r.body.run.jobDir, 'model'), { recursive: true, force: true });
    }
    const unfinished = new Set(
      this.deps.store.listByStatus<InferenceJobRecord>(INFERENCE_JOB_KIND, UNFINISHED_INFERENCE_STATUSES).map((r) => r.arn),
    );
    if (unfinished.size === 0 && this.deps.store.listByStatus(INFERENCE_JOB_KIND, ['ACTIVE', 'CREATE_FAILED', 'INACTIVE']).length === 0) return;
    const runner = await this.deps.runner();
    await runner
      .removeStrayJobs(this.storeId, (arn) => this.active.has(arn) || unfinished.has(arn))
      .catch((e: unknown) => log.error({ err: e }, 'could not list inference containers to reconcile'));
  }

  private lost(why: string, cancelled = false): InferenceResult {
    const now = this.deps.clock();
    return {
      succeeded: false,
      cancelled,
      statusCode: cancelled ? 'CANCELLED' : 'INTERNAL_ERROR',
      message: cancelled ? 'The inference job was cancelled.' : `cleanrooms-ml-local lost the inference job: ${why}; its requests in flight cannot be resumed.`,
      invocations: 0,
      outputBytes: 0,
      startedAt: now,
      endedAt: now,
    };
  }

  private async execute(arn: string, base: InferenceRunSpec, signal: AbortSignal): Promise<void> {
    const log = this.deps.logger.child({ trainedModelInferenceJobArn: arn });
    const jobDir = this.jobDir(arn);
    rmSync(jobDir, { recursive: true, force: true });
    mkdirSync(jobDir, { recursive: true });
    const lines: LogLine[] = [];
    let logsFailed: string | undefined;
    const flush = () => {
      try {
        this.deps.store.appendLogLines(arn, '', lines.splice(0));
      } catch (e) {
        logsFailed ??= `Log lines could not be stored: ${(e as Error).message}`;
      }
    };
    const timer = setInterval(flush, FLUSH_INTERVAL_MS);
    signal.addEventListener('abort', () => this.transition(arn, 'CANCEL_IN_PROGRESS'), { once: true });
    let result: InferenceResult;
    try {
      const runner = await this.deps.runner();
      result = await runner.run(
        { ...base, jobDir },
        {
          onStarted: ({ imageDigest }) =>
            void this.transition(arn, 'CREATE_IN_PROGRESS', { inferenceContainerImageDigest: imageDigest, run: { startedAt: this.deps.clock().toISOString() } as InferenceJobRecord['run'] }),
          onLogLine: (l) => {
            lines.push(l);
            if (lines.length >= FLUSH_LINES) flush();
          },
        },
        signal,
      );
    } catch (e) {
      log.error({ err: e }, 'the inference runner failed');
      result = { ...this.lost((e as Error).message, signal.aborted), message: `cleanrooms-ml-local could not run the inference job: ${(e as Error).message}` };
    } finally {
      clearInterval(timer);
      flush();
    }
    this.finish(arn, result, logsFailed);
    log.info({ succeeded: result.succeeded, statusCode: result.statusCode, invocations: result.invocations }, 'inference job finished');
  }

  private finish(arn: string, result: InferenceResult, logsFailed?: string): void {
    const patch: Partial<InferenceJobRecord> = {
      logsStatus: logsFailed ? 'PUBLISH_FAILED' : 'PUBLISH_SUCCEEDED',
      logsStatusDetails: logsFailed,
      // The inference container config has no metric definitions: nothing to publish, nothing failed.
      metricsStatus: 'PUBLISH_SUCCEEDED',
      ...(result.imageDigest ? { inferenceContainerImageDigest: result.imageDigest } : {}),
      run: {
        outputDir: result.outputDir,
        outputArtifactPath: result.outputArtifactPath,
        endedAt: result.endedAt.toISOString(),
      } as InferenceJobRecord['run'],
    };
    const status = this.get(arn)?.status;
    // A job that failed while its cancel was on the way ends cancelled: the cancel was asked first.
    if (result.cancelled || status === 'CANCEL_PENDING' || status === 'CANCEL_IN_PROGRESS') {
      this.transition(arn, 'INACTIVE', { ...patch, statusDetails: { statusCode: 'CANCELLED', message: result.message ?? 'The inference job was cancelled.' } }, 'CANCEL_IN_PROGRESS');
    } else if (result.succeeded) {
      this.transition(arn, 'ACTIVE', patch, 'CREATE_IN_PROGRESS');
    } else {
      this.transition(arn, 'CREATE_FAILED', { ...patch, statusDetails: { statusCode: result.statusCode ?? 'INTERNAL_ERROR', message: result.message } });
    }
  }
}
