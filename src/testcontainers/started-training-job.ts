import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { CleanRoomsMLLocal } from '../api/service.js';
import type { TrainedModelStatus } from '../api/generated/types.js';
import { trainedModelArtifacts } from '../api/artifacts.js';
import { isTerminal } from '../api/trained-model-status.js';
import { MODEL_ARTIFACT, OUTPUT_ARTIFACT } from '../runner/artifact-packager.js';
import { MANIFEST_FILE } from '../runner/run-manifest.js';
import { extractArchiveSafely } from '../runner/archive-extraction.js';
import { removeNow } from './temp-folders.js';
import { TrainingResult, type TrainingLogLine, type TrainingMetric } from './training-result.js';

interface JobContext {
  service: CleanRoomsMLLocal;
  trainedModelArn: string;
  imageUri: string;
  /** The job's temporary folder: its data folder (`data/`) and, once it ended, the extracted result. */
  root: string;
}

/** What manifest.json says of how the containers ended. */
interface Manifest {
  exitCode?: number;
  durationMs?: number;
}

/**
 * A training run that was started: follow its `logs()`, wait for its `result()`, `stop()` it (a cancel), or let
 * `await using` stop it and remove everything it made (its containers, network and temporary folder).
 */
export class StartedTrainingJob implements AsyncDisposable {
  readonly trainedModelArn: string;
  readonly imageUri: string;
  private readonly service: CleanRoomsMLLocal;
  private readonly root: string;
  private readonly logStreams = new Set<Readable>();
  private ended?: Promise<TrainingResult>;
  private closed?: Promise<void>;
  private stopping?: Promise<TrainingResult>;

  constructor(ctx: JobContext) {
    this.service = ctx.service;
    this.trainedModelArn = ctx.trainedModelArn;
    this.imageUri = ctx.imageUri;
    this.root = ctx.root;
  }

  private get membershipIdentifier(): string {
    return this.service.settings.defaultMembershipId;
  }

  /** The run's status now (CREATE_PENDING, CREATE_IN_PROGRESS, ACTIVE, CREATE_FAILED, …). */
  async status(): Promise<TrainedModelStatus> {
    return (await this.service.getTrainedModel({ membershipIdentifier: this.membershipIdentifier, trainedModelArn: this.trainedModelArn })).status;
  }

  /**
   * The run's log lines (every host's, `\n`-terminated text) from its first line, following it until it ends;
   * read it with backpressure, as a container's logs in testcontainers. `host` keeps one host's lines.
   */
  logs(opts: { host?: string } = {}): Readable {
    const lines = this.service.trainedModelLogs({
      membershipIdentifier: this.membershipIdentifier,
      trainedModelArn: this.trainedModelArn,
      host: opts.host,
      follow: true,
      pollIntervalMs: 100,
    });
    const stream = Readable.from(
      (async function* () {
        for await (const l of lines) yield `${l.text}\n`;
      })(),
    );
    this.logStreams.add(stream);
    stream.once('close', () => this.logStreams.delete(stream));
    return stream;
  }

  /** Waits for the run to end and gathers its result (status, metrics, logs, extracted model and output). */
  result(): Promise<TrainingResult> {
    this.ended ??= this.service.waitForRuns(this.trainedModelArn).then(() => this.gather());
    return this.ended;
  }

  /**
   * Cancels the run if it is still going (SIGTERM, SIGKILL after the grace period), waits for it to end and
   * removes what it made but its result's files (they go when the result is disposed, or at exit). Calling it
   * again, or after `finish()`, gives the same result.
   */
  stop(): Promise<TrainingResult> {
    this.stopping ??= this.cancelAndFinish();
    return this.stopping;
  }

  private async cancelAndFinish(): Promise<TrainingResult> {
    if (!this.closed && !isTerminal(await this.status())) {
      const ids = { membershipIdentifier: this.membershipIdentifier, trainedModelArn: this.trainedModelArn };
      await this.service.cancelTrainedModel(ids).catch(async (e: unknown) => {
        // It may have ended in between; otherwise the run is waited for all the same, and the log says why.
        if (!isTerminal(await this.status())) this.service.logger.warn({ err: e, trainedModelArn: this.trainedModelArn }, 'could not cancel the run; waiting for it to end');
      });
    }
    return this.finish();
  }

  /** Waits for the run to end by itself, then removes what it made but its result's files. */
  async finish(): Promise<TrainingResult> {
    try {
      return await this.result();
    } finally {
      await this.close();
    }
  }

  private close(): Promise<void> {
    this.closed ??= (async () => {
      for (const s of this.logStreams) s.destroy();
      await this.service.close();
      await removeNow(join(this.root, 'data')).catch(() => undefined);
    })();
    return this.closed;
  }

  /** Stops the run (if still going) and removes everything it made, its result's files too. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.stop();
    } finally {
      await removeNow(this.root);
    }
  }

  private async gather(): Promise<TrainingResult> {
    const ids = { membershipIdentifier: this.membershipIdentifier, trainedModelArn: this.trainedModelArn };
    const model = await this.service.getTrainedModel(ids);
    const metrics: Record<string, TrainingMetric> = {};
    for (const p of await this.service.trainedModelMetrics(ids)) {
      const m = (metrics[p.name] ??= { points: [], final: {} });
      m.points.push({ value: p.value, time: p.time, host: p.host });
      m.final[p.host] = p.value;
    }
    const logs: TrainingLogLine[] = [];
    for await (const l of this.service.trainedModelLogs(ids)) logs.push(l);

    const files = await trainedModelArtifacts(this.service, this.trainedModelArn);
    const file = (name: string) => files.find((f) => basename(f) === name);
    const manifestPath = file(MANIFEST_FILE);
    const manifest = manifestPath ? (JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest) : {};
    const skippedEntries: string[] = [];
    const extract = async (name: string, to: string) => {
      const archive = file(name);
      if (!archive) return undefined;
      const out = await extractArchiveSafely(archive, join(this.root, to));
      skippedEntries.push(...out.skipped.map((s) => `${name}: ${s}`));
      return out.dir;
    };
    return new TrainingResult({
      trainedModelArn: this.trainedModelArn,
      status: model.status,
      statusCode: model.statusDetails?.statusCode,
      message: model.statusDetails?.message,
      exitCode: manifest.exitCode,
      durationMs: manifest.durationMs,
      imageUri: this.imageUri,
      imageDigest: model.trainingContainerImageDigest,
      metrics,
      logs,
      modelDir: await extract(MODEL_ARTIFACT, 'model'),
      outputDir: await extract(OUTPUT_ARTIFACT, 'output'),
      skippedEntries,
      dir: this.root,
    });
  }
}
