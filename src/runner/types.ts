import type { ChannelSpec } from '../channels/channel-spec.js';
import type { AppliedLimits } from './resource-limits.js';

/**
 * The boundary between the API side (store, statuses) and the runner (containers).
 * The runner never touches the store: it reads a TrainingJobSpec and reports through RunEvents.
 */

// The channel shape belongs to src/channels; re-exported because it is part of the runner's public contract.
export type { ChannelContentType, ChannelSpec } from '../channels/channel-spec.js';

export interface MetricDefinitionSpec {
  name: string;
  regex: string;
}

export interface TrainingJobSpec {
  trainedModelArn: string;
  /** The version this run makes (an incremental training run); absent for the base version. */
  versionIdentifier?: string;
  /** The trained model's name: TRAINING_JOB_NAME. */
  name: string;
  membershipIdentifier: string;
  imageUri: string;
  entrypoint?: string[];
  arguments?: string[];
  metricDefinitions: MetricDefinitionSpec[];
  hyperparameters: Record<string, string>;
  environment: Record<string, string>;
  instanceType: string;
  instanceCount: number;
  volumeSizeInGB: number;
  maxRuntimeInSeconds: number;
  trainingInputMode: 'File' | 'FastFile' | 'Pipe';
  channels: ChannelSpec[];
  /** Folder that receives model.tar.gz, output.tar.gz and manifest.json. Created by the caller. */
  artifactsDir: string;
  /**
   * The association's maxArtifactSize in bytes, when it sets one: a run whose model.tar.gz and output.tar.gz
   * together are larger fails ALGORITHM_ERROR, decided before its manifest is written.
   */
  maxArtifactBytes?: number;
  /** Extra container labels (the store a run belongs to), so a later process can find its containers. */
  labels?: Record<string, string>;
}

/** A run, as its containers are labelled: the trained model and the version ('' for the base one). */
export interface RunKey {
  trainedModelArn: string;
  versionIdentifier: string;
}

/** Where a run that a dead process started stands, for a new process to pick it up. */
export interface ReattachOptions {
  /** When the run's containers started: the deadline counts from there. */
  startedAt: Date;
  /** Lines already stored per stream: the engine replays the whole log, these are skipped. */
  skipLines: { stdout: number; stderr: number };
  /** The same per host, for a cluster. */
  skipLinesByHost?: Record<string, { stdout: number; stderr: number }>;
}

export interface LogLine {
  time: Date;
  stream: 'stdout' | 'stderr';
  host: string;
  text: string;
}

export interface MetricPoint {
  name: string;
  value: number;
  time: Date;
  host: string;
}

/** What the runner tells its caller while a run goes. Implementations must not throw. */
export interface RunEvents {
  /** The image is resolved and containers are about to start: the run is CREATE_IN_PROGRESS. */
  onStarted(info: { imageDigest: string; containerIds: string[] }): void | Promise<void>;
  onLogLine(line: LogLine): void;
  onMetric(point: MetricPoint): void;
  /** A pull's progress, per layer, as the engine reports it (the Docker CLI's lines). */
  onPullProgress?(progress: { id?: string; status: string; progress?: string }): void;
}

export type RunStatusCode =
  | 'ALGORITHM_ERROR'
  | 'OUT_OF_MEMORY'
  | 'MAX_RUNTIME_EXCEEDED'
  | 'IMAGE_PULL_FAILED'
  | 'INTERNAL_ERROR'
  | 'CANCELLED';

/** Why the runner stopped a run before its algorithm ended by itself; the first reason wins. */
export type StopReason = 'deadline' | 'cancel' | 'volume';

/** What every finished run reports, success or failure. Built only by the constructors in run-outcome.ts. */
interface RunFacts {
  exitCode?: number;
  imageDigest?: string;
  /**
   * Why the run was stopped: its deadline, a cancel (before or after its containers started) or the volume cap;
   * absent when it ended by itself. The one field a caller checks; `timedOut` and `cancelled` are derived from it.
   */
  stopReason?: StopReason;
  /** stopReason === 'deadline'. */
  readonly timedOut: boolean;
  /** stopReason === 'cancel'. */
  readonly cancelled: boolean;
  /** Absolute paths of what was packaged (present even for a failed run when something was written). */
  modelArtifactPath?: string;
  outputArtifactPath?: string;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  /** The limits the containers got (the instance type's, or less on a smaller host), when they were decided. */
  limits?: AppliedLimits;
  cause?: unknown;
}

export interface RunSucceeded extends RunFacts {
  succeeded: true;
  statusCode?: undefined;
  message?: undefined;
}

export interface RunFailed extends RunFacts {
  succeeded: false;
  statusCode: RunStatusCode;
  /** statusDetails.message: what went wrong, in words a user can act on. */
  message: string;
}

/** One result shape for every finished run: a success, or a failure with its status code and message. */
export type RunResult = RunSucceeded | RunFailed;

/** An image to build from a folder with a Dockerfile, through the engine's build API. */
export interface ImageBuildSpec {
  /** The build folder (absolute). */
  context: string;
  /** The Dockerfile's path inside the folder (default `Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  tag: string;
  /** Each line the builder prints. */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface TrainingRunner {
  /** Runs one trained model to the end. Aborting the signal cancels it (containers stopped within the grace period). */
  run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult>;
  /**
   * Picks up a run whose container a dead process started: follows it to the end if it still runs, or
   * finishes it if it ended. Undefined when no container of that run exists.
   */
  reattach?(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal, options: ReattachOptions): Promise<RunResult | undefined>;
  /** Resolves when the runner's background work (a skeleton image being made) is done. */
  settled?(): Promise<void>;
  /** Removes the containers (and cluster networks) of store `storeId` whose run `keep` does not keep (reconciliation). */
  removeStrayRuns?(storeId: string, keep: (run: RunKey) => boolean): Promise<number>;
  /** Builds and tags an image from a folder; resolves with the image's id. A failed build rejects in the builder's words. */
  buildImage?(spec: ImageBuildSpec): Promise<{ imageId: string }>;
}
