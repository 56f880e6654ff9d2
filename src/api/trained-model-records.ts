import { join } from 'node:path';
import type { ProcessOwner } from './run-owner.js';
import type * as T from './generated/types.js';
import type { TrainingJobSpec } from '../runner/types.js';
import type { AppliedLimits } from '../runner/resource-limits.js';
import { MODEL_ARTIFACT, OUTPUT_ARTIFACT } from '../runner/artifact-names.js';
import { MANIFEST_FILE } from '../runner/run-manifest.js';
import { resourceIdOfArn } from './arns.js';
import { canTransition } from './trained-model-status.js';
import type { ListQuery, Store, Stored, StoredResource } from './store.js';

/**
 * The one owner of the trained-model record: its kind, its types, where its files live, its look-ups, its
 * insert and the one function that writes its status. Nothing else reads or writes 'trained-model' documents.
 */

export const TRAINED_MODEL_KIND = 'trained-model';

/** The files a run leaves in its artifacts folder, in the order the CLI lists them. */
export const ARTIFACT_FILES = [MODEL_ARTIFACT, OUTPUT_ARTIFACT, MANIFEST_FILE] as const;

/** The process that works on a run: if it is gone, the next process to open the store takes over. */
/** The process supervising a run (src/api/run-owner.ts). */
export type RunOwner = ProcessOwner;

/** What the runner gets, less the artifacts folder (which follows from where the record lives). */
export type RunSpec = Omit<TrainingJobSpec, 'artifactsDir'>;

export interface RunRecord {
  /** The request as the runner got it: what a process taking over needs. */
  spec?: RunSpec;
  owner?: RunOwner;
  /** The limits the container got: the instance type's, or less when this host is smaller (then `scaledDown` says so). */
  limits?: AppliedLimits;
  artifactsDir: string;
  modelArtifactPath?: string;
  outputArtifactPath?: string;
  exitCode?: number;
  startedAt?: string;
  endedAt?: string;
}

/** One status a version went through, and when (what `crml report` draws as the status timeline). */
export interface StatusChange {
  status: T.TrainedModelStatus;
  time: string;
}

export type TrainedModelRecord = Stored<T.GetTrainedModelResponse> & {
  creatorAccountId: string;
  run?: RunRecord;
  /** Every status in order, written by `transition` (records from before it was kept have none). */
  statusHistory?: StatusChange[];
};

/** A change to a record, given outright or computed from the current one inside the same transaction. */
export type RecordPatch = Partial<TrainedModelRecord> | ((current: TrainedModelRecord) => Partial<TrainedModelRecord>);

export interface TransitionOptions {
  /** A status to pass through first when the table allows it (CREATE_IN_PROGRESS on the way to ACTIVE). */
  via?: T.TrainedModelStatus;
  /** Written with the status change. */
  patch?: RecordPatch;
  /** Written even when the table refuses the change (what the run did is true whoever decided its status). */
  always?: RecordPatch;
}

export class TrainedModelRecords {
  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly clock: () => Date,
  ) {}

  /** Where a version's model.tar.gz, output.tar.gz and manifest.json go. */
  artifactsDir(arn: string, versionId: string): string {
    return join(this.dataDir, 'artifacts', resourceIdOfArn(arn), versionId || 'base');
  }

  /**
   * Inputs a run reads that are not channels of the store: a base model's model.tar.gz for incremental training.
   * A hard link, so deleting the base's output meanwhile takes nothing from the run; removed when the run ends.
   */
  inputsDir(arn: string, versionId: string): string {
    return join(this.dataDir, 'inputs', resourceIdOfArn(arn), versionId || 'base');
  }

  /** One version ('' is the base one). */
  get(arn: string, versionId = ''): StoredResource<TrainedModelRecord> | undefined {
    return this.store.get<TrainedModelRecord>(TRAINED_MODEL_KIND, arn, versionId);
  }

  /** The version named, or without one the latest (what GetTrainedModel answers). */
  version(arn: string, versionId: string | undefined): StoredResource<TrainedModelRecord> | undefined {
    return this.store.getVersion<TrainedModelRecord>(TRAINED_MODEL_KIND, arn, versionId);
  }

  /** version() and the trained model's tags, read at once. */
  versionWithTags(arn: string, versionId: string | undefined): { record: StoredResource<TrainedModelRecord>; tags: Record<string, string> } | undefined {
    return this.store.getVersionWithTags<TrainedModelRecord>(TRAINED_MODEL_KIND, arn, versionId);
  }

  latest(arn: string): StoredResource<TrainedModelRecord> | undefined {
    return this.version(arn, undefined);
  }

  list(q: Omit<ListQuery, 'kind'>): StoredResource<TrainedModelRecord>[] {
    return this.store.list<TrainedModelRecord>({ ...q, kind: TRAINED_MODEL_KIND });
  }

  listByStatus(statuses: readonly T.TrainedModelStatus[]): StoredResource<TrainedModelRecord>[] {
    return this.store.listByStatus<TrainedModelRecord>(TRAINED_MODEL_KIND, statuses);
  }

  /** The first trained model whose body names `value` under `member` (what a delete checks first). */
  findReferencing(member: string, value: string, opts: Parameters<Store['findReferencing']>[3] = {}): StoredResource<TrainedModelRecord> | undefined {
    return this.store.findReferencing<TrainedModelRecord>(TRAINED_MODEL_KIND, member, value, opts);
  }

  /** The ARN of the newest trained model whose id or name is `idOrName`. */
  arnByIdOrName(idOrName: string): string | undefined {
    return this.store.arnByIdOrName(TRAINED_MODEL_KIND, idOrName);
  }

  /**
   * Stores a new CREATE_PENDING version together with its run's spec and owner, in one transaction with its tags
   * and `check` (the quotas): no other process ever sees a pending model that nobody owns.
   */
  insert(
    record: TrainedModelRecord,
    run: { spec: RunSpec; owner: RunOwner },
    opts: { tags?: Record<string, string>; check?: () => void } = {},
  ): void {
    const versionId = record.versionIdentifier ?? '';
    const body: TrainedModelRecord = {
      ...record,
      run: { ...record.run, artifactsDir: this.artifactsDir(record.trainedModelArn, versionId), ...run },
      statusHistory: [{ status: record.status, time: record.createTime }],
    };
    this.store.insertWithTags(
      { kind: TRAINED_MODEL_KIND, arn: record.trainedModelArn, versionId, membershipId: record.membershipIdentifier, status: record.status, body },
      opts.tags,
      opts.check,
    );
  }

  /**
   * The one writer of `status`: moves a version to `to` when the transition table allows it (contract §6),
   * in one transaction with `patch`. Returns false when the table refused: someone else decided first.
   */
  transition(arn: string, versionId: string, to: T.TrainedModelStatus, opts: TransitionOptions = {}): boolean {
    let applied = false;
    this.store.update<TrainedModelRecord>(TRAINED_MODEL_KIND, arn, versionId, (cur) => {
      let body = cur.body;
      if (opts.always) body = { ...body, ...resolve(opts.always, body) };
      let from = body.status;
      if (opts.via && from !== opts.via && canTransition(from, opts.via)) from = opts.via;
      applied = from === to || canTransition(from, to);
      if (!applied) {
        if (from === body.status && !opts.always) return { body: cur.body };
        // The intermediate step was allowed: it is written, as a separate transition would have been.
        body = from === body.status ? body : withStatus(body, from, this.now());
        return { body, status: body.status };
      }
      if (from !== body.status) body = withStatus(body, from, this.now());
      body = withStatus({ ...body, ...(opts.patch ? resolve(opts.patch, body) : {}) }, to, this.now());
      return { body, status: to };
    });
    return applied;
  }

  /** Changes what is stored about the run, never the status (claiming a run, forgetting removed artifacts). */
  updateRun(arn: string, versionId: string, change: (current: TrainedModelRecord) => RunRecord | undefined): TrainedModelRecord | undefined {
    return this.store.update<TrainedModelRecord>(TRAINED_MODEL_KIND, arn, versionId, (cur) => ({ body: { ...cur.body, run: change(cur.body) } }))?.body;
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

/** The body at `status` since `time`, the change appended to its history (a repeated status is not a change). */
function withStatus(body: TrainedModelRecord, status: T.TrainedModelStatus, time: string): TrainedModelRecord {
  const history = body.statusHistory ?? [];
  const changed = history[history.length - 1]?.status !== status;
  return { ...body, status, updateTime: time, statusHistory: changed ? [...history, { status, time }] : history };
}

function resolve(patch: RecordPatch, current: TrainedModelRecord): Partial<TrainedModelRecord> {
  return typeof patch === 'function' ? patch(current) : patch;
}
