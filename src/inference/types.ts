import type { LogLine } from '../runner/types.js';

/**
 * The boundary between the API side (store, statuses) and the inference runner (containers): the runner reads
 * an InferenceJobSpec and reports through InferenceEvents; it never touches the store.
 */

export interface InferenceJobSpec {
  trainedModelInferenceJobArn: string;
  name: string;
  membershipIdentifier: string;
  /** The algorithm's inferenceContainerConfig.imageUri. */
  imageUri: string;
  environment: Record<string, string>;
  instanceType: string;
  /** 1–10 containers sharing the records. */
  instanceCount: number;
  /** The trained model's model.tar.gz on this machine. */
  modelArtifactPath: string;
  /** The ML input channel's data folder and what its files are (text/csv, application/x-parquet). */
  input: { hostPath: string; contentType: string };
  /** outputConfiguration.accept: the Accept header of every invocation (absent: none sent). */
  accept?: string;
  /** containerExecutionParameters.maxPayloadInMB in bytes: no request body is larger. */
  maxPayloadBytes: number;
  /** The association's trainedModelInferenceJobs.maxOutputSize in bytes, when it sets one. */
  maxOutputBytes?: number;
  maxRuntimeInSeconds: number;
  /** The job's folder: output/ (one `<file>.out` per input file) and output.tar.gz go here. Created by the caller. */
  jobDir: string;
  /** Extra labels (the store the job belongs to), so a later process can find its containers. */
  labels?: Record<string, string>;
}

export interface InferenceEvents {
  /** The image is resolved and the containers are about to start: the job is CREATE_IN_PROGRESS. */
  onStarted(info: { imageDigest: string }): void;
  onLogLine(line: LogLine): void;
}

export type InferenceStatusCode = 'ALGORITHM_ERROR' | 'MAX_RUNTIME_EXCEEDED' | 'IMAGE_PULL_FAILED' | 'INTERNAL_ERROR' | 'CANCELLED';

/** One result shape for every finished job, success or failure. */
export interface InferenceResult {
  succeeded: boolean;
  cancelled: boolean;
  statusCode?: InferenceStatusCode;
  message?: string;
  imageDigest?: string;
  /** The folder of `<file>.out` files and the archive of it (present when anything was written). */
  outputDir?: string;
  outputArtifactPath?: string;
  /** Requests sent and bytes answered: what the job's log ends with. */
  invocations: number;
  outputBytes: number;
  startedAt: Date;
  endedAt: Date;
}

export interface InferenceRunner {
  /** Runs one job to the end; aborting the signal cancels it (containers removed). */
  run(spec: InferenceJobSpec, events: InferenceEvents, signal: AbortSignal): Promise<InferenceResult>;
  /** Removes containers, networks and firewall rules of store `storeId` whose job `keep` does not keep. */
  removeStrayJobs(storeId: string, keep: (trainedModelInferenceJobArn: string) => boolean): Promise<number>;
}
