import type * as T from '../api/generated/types.js';
import { removeNow } from './temp-folders.js';

export interface TrainingLogLine {
  time: Date;
  stream: 'stdout' | 'stderr';
  host: string;
  text: string;
}

export interface TrainingMetricPoint {
  value: number;
  time: Date;
  host: string;
}

/** One metric of a run: every point in order, and the last value each host reported. */
export interface TrainingMetric {
  points: TrainingMetricPoint[];
  /** Host (`algo-1`, …) → its last value. */
  final: Record<string, number>;
}

export interface TrainingResultFacts {
  trainedModelArn: string;
  status: T.TrainedModelStatus;
  /** statusDetails.statusCode of a failed run (ALGORITHM_ERROR, OUT_OF_MEMORY, MAX_RUNTIME_EXCEEDED, …). */
  statusCode?: string;
  /** statusDetails.message: why it failed. */
  message?: string;
  exitCode?: number;
  durationMs?: number;
  imageUri: string;
  /** trainingContainerImageDigest: the registry digest that ran, or the image id of a local-only image. */
  imageDigest?: string;
  metrics: Record<string, TrainingMetric>;
  logs: TrainingLogLine[];
  /** model.tar.gz, extracted (safely: nothing outside it); undefined when the run left none. */
  modelDir?: string;
  /** output.tar.gz (/opt/ml/output/data and the failure file), extracted the same way. */
  outputDir?: string;
  /** Archive entries the extraction left out, each with why (links, devices, FIFOs: see extractArchiveSafely). */
  skippedEntries: string[];
  /** The temporary folder holding modelDir and outputDir. */
  dir: string;
}

/**
 * How a training run ended, with what it printed, measured and left. Its files stay until it is disposed
 * (`await using`, or `dispose()`), or until the process exits.
 */
export class TrainingResult implements TrainingResultFacts, AsyncDisposable {
  readonly trainedModelArn!: string;
  readonly status!: T.TrainedModelStatus;
  readonly statusCode?: string;
  readonly message?: string;
  readonly exitCode?: number;
  readonly durationMs?: number;
  readonly imageUri!: string;
  readonly imageDigest?: string;
  readonly metrics!: Record<string, TrainingMetric>;
  readonly logs!: TrainingLogLine[];
  readonly modelDir?: string;
  readonly outputDir?: string;
  readonly skippedEntries!: string[];
  readonly dir!: string;

  constructor(facts: TrainingResultFacts) {
    Object.assign(this, facts);
  }

  /** The last value of metric `name` on `host` (default algo-1). */
  finalMetric(name: string, host = 'algo-1'): number | undefined {
    return this.metrics[name]?.final[host];
  }

  /** The last `n` log lines, each `[host stream] text` when the run had more than one host. */
  lastLogLines(n = 10): string[] {
    const hosts = new Set(this.logs.map((l) => l.host));
    return this.logs.slice(-n).map((l) => (hosts.size > 1 ? `[${l.host}] ${l.text}` : l.text));
  }

  /** The run in a few lines, for a failing assertion: status, reason, and the last log lines. */
  describe(logLines = 10): string {
    const status = [this.status, this.statusCode, this.message].filter(Boolean).join(' – ');
    const lines = this.lastLogLines(logLines);
    return (
      `trained model ${this.trainedModelArn} (${this.imageUri}): ${status}` +
      (this.exitCode === undefined ? '' : `, exit code ${this.exitCode}`) +
      (lines.length ? `\nlast log lines:\n${lines.map((l) => `  ${l}`).join('\n')}` : '\nno log lines')
    );
  }

  async dispose(): Promise<void> {
    await removeNow(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
