import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { ReattachOptions, RunEvents, RunResult, RunStatusCode, TrainingJobSpec, TrainingRunner } from './types.js';
import type { ContainerEngine } from './engine/container-engine.js';
import { ImagePullError, ImageResolver, type RegistryAuthProvider } from './image-resolver.js';
import { hostCapacity, limitsFor, type AppliedLimits, type HostCapacity } from './resource-limits.js';
import { configFiles, invocation, trainingEnvironment } from './training-environment.js';
import { optMlSkeleton } from './opt-ml-skeleton.js';
import { LogLineSplitter } from './log-line-splitter.js';
import { MetricExtractor } from './metric-extractor.js';
import { packageFolder, readFirstFile } from './artifact-packager.js';
import { hashChannel } from './channel-hash.js';
import { CapacityGate } from './capacity-gate.js';

export interface ContainerTrainingRunnerOptions {
  engine: ContainerEngine;
  settings: Settings;
  logger: Logger;
  registryAuth?: RegistryAuthProvider;
  /** What this machine can give containers; measured by default. */
  host?: HostCapacity;
}

const FAILURE_CHARS = 1024;
const STDERR_TAIL_LINES = 10;
const GiB = 1024 ** 3;
export const LABEL_TRAINED_MODEL = 'crml.trained-model';
export const LABEL_HOST = 'crml.host';
export const LABEL_MANAGED = 'crml.managed';

type StopReason = 'deadline' | 'cancel' | 'volume';

/** What one run knows once its container exists: shared by a fresh run and a re-attached one. */
interface Supervision {
  spec: TrainingJobSpec;
  events: RunEvents;
  signal: AbortSignal;
  log: Logger;
  containerId: string;
  host: string;
  imageDigest?: string;
  limits?: AppliedLimits;
  startedAt: Date;
  /** Milliseconds left before the deadline. */
  remainingMs: number;
  skipLines: { stdout: number; stderr: number };
}

/**
 * Runs one trained model in one container (single instance): waits for room on the host, resolves the
 * image, lays out /opt/ml through the archive API, starts it with the instance type's limits and the
 * hardening of contract §5, streams the logs into lines and metric points, stops it at the deadline, on
 * cancel or when it writes past volumeSizeInGB (SIGTERM, then SIGKILL after the grace period), packages the
 * artifacts, and removes the container whatever happened.
 */
export class ContainerTrainingRunner implements TrainingRunner {
  private readonly host: HostCapacity;
  private readonly capacity: CapacityGate;

  constructor(private readonly opts: ContainerTrainingRunnerOptions) {
    this.host = opts.host ?? hostCapacity();
    this.capacity = new CapacityGate({ cpus: this.host.cpus, memoryBytes: this.host.memoryBytes });
  }

  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    const { engine, settings } = this.opts;
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn });
    const startedAt = new Date();
    const host = 'algo-1';
    const hosts = [host];
    const early = (statusCode: RunStatusCode, message: string, extra: Partial<RunResult> = {}) =>
      this.result(startedAt, { succeeded: false, statusCode, message, cancelled: statusCode === 'CANCELLED', ...extra });
    const cancelledBeforeStart = () => early('CANCELLED', 'The trained model was cancelled before it started.');

    let limits: AppliedLimits;
    try {
      limits = limitsFor(spec.instanceType, this.host, settings.strictResources);
    } catch (e) {
      return early('INTERNAL_ERROR', (e as Error).message);
    }
    let release: () => void;
    try {
      release = await this.capacity.acquire({ cpus: limits.vcpus, memoryBytes: limits.memoryBytes }, signal);
    } catch {
      return cancelledBeforeStart();
    }
    let containerId: string | undefined;
    try {
      if (limits.scaledDown) {
        log.warn({ limits }, limits.scaledDown);
        this.runnerLine(events, host, limits.scaledDown);
      }
      const resolver = new ImageResolver({ engine, policy: settings.pullPolicy, auth: this.opts.registryAuth, logger: log });
      let image;
      try {
        image = await resolver.resolve(spec.imageUri, (p) => log.debug({ pull: p }, 'pull progress'));
      } catch (e) {
        if (e instanceof ImagePullError) return early('IMAGE_PULL_FAILED', e.message, { cause: e });
        throw e;
      }
      if (signal.aborted) return cancelledBeforeStart();

      const files = configFiles(spec, host, hosts);
      const { entrypoint, cmd } = invocation(spec);
      const { hardening } = settings;
      containerId = await engine.createContainer({
        image: image.imageId,
        hostname: host,
        entrypoint,
        cmd,
        env: trainingEnvironment(spec, host, hosts, limits, files),
        labels: { ...spec.labels, [LABEL_TRAINED_MODEL]: spec.trainedModelArn, [LABEL_HOST]: host, [LABEL_MANAGED]: 'true' },
        binds: spec.channels.map((c) => ({ hostPath: c.hostPath, containerPath: `/opt/ml/input/data/${c.channelName}`, readOnly: true })),
        // A single instance trains with no network at all (contract §5), unless a setting says otherwise.
        networkMode: hardening.singleInstanceNetwork,
        nanoCpus: Math.round(limits.vcpus * 1e9),
        memoryBytes: limits.memoryBytes,
        shmSizeBytes: limits.shmSizeBytes,
        pidsLimit: hardening.pidsLimit,
        capDrop: ['ALL'],
        capAdd: hardening.capAdd,
        securityOpt: hardening.noNewPrivileges ? ['no-new-privileges'] : [],
        gpus: limits.gpus,
      });
      log.debug({ containerId }, 'container created');
      await engine.putArchive(containerId, '/', optMlSkeleton(files));
      await engine.startContainer(containerId);
      await events.onStarted({ imageDigest: image.digest, containerIds: [containerId] });
      return await this.supervise({
        spec, events, signal, log, containerId, host, limits, startedAt,
        imageDigest: image.digest,
        remainingMs: spec.maxRuntimeInSeconds * 1000,
        skipLines: { stdout: 0, stderr: 0 },
      });
    } catch (e) {
      log.error({ err: e }, 'run failed on the runner side');
      const result = early('INTERNAL_ERROR', `cleanrooms-ml-local failed to run the container: ${(e as Error).message}`, { cause: e });
      await this.writeManifest(spec, result, limits).catch(() => undefined);
      return result;
    } finally {
      release();
      if (containerId) await this.remove(containerId, log);
    }
  }

  async reattach(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal, options: ReattachOptions): Promise<RunResult | undefined> {
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn, reattached: true });
    const found = await this.opts.engine.listContainers(`${LABEL_TRAINED_MODEL}=${spec.trainedModelArn}`);
    const container = found[0];
    if (!container) return undefined;
    try {
      let limits: AppliedLimits | undefined;
      try {
        limits = limitsFor(spec.instanceType, this.host, false);
      } catch {
        limits = undefined;
      }
      log.info({ containerId: container.id, running: container.running }, 're-attaching to a run a previous process started');
      return await this.supervise({
        spec, events, signal, log, limits,
        containerId: container.id,
        host: container.labels[LABEL_HOST] ?? 'algo-1',
        startedAt: options.startedAt,
        remainingMs: options.startedAt.getTime() + spec.maxRuntimeInSeconds * 1000 - Date.now(),
        skipLines: options.skipLines,
      });
    } finally {
      for (const c of found) await this.remove(c.id, log);
    }
  }

  async removeContainers(label: string, stray: (labels: Record<string, string>) => boolean): Promise<number> {
    let removed = 0;
    for (const c of await this.opts.engine.listContainers(label)) {
      if (!stray(c.labels)) continue;
      await this.remove(c.id, this.opts.logger);
      removed += 1;
    }
    return removed;
  }

  /** From a started container to its result: logs, deadline, cancel, volume cap, exit, artifacts. */
  private async supervise(s: Supervision): Promise<RunResult> {
    const { engine, settings } = this.opts;
    const { spec, events, log, containerId, host } = s;
    const channelHashes = hashChannel.all(spec.channels).catch(() => ({}));
    const logs = await engine.followLogs(containerId);
    const stderrTail: string[] = [];
    const extractor = new MetricExtractor(spec.metricDefinitions);
    const consume = async (stream: Readable, name: 'stdout' | 'stderr') => {
      const splitter = new LogLineSplitter();
      let skip = s.skipLines[name];
      const emit = (lines: string[]) => {
        for (const text of lines) {
          // A re-attached run replays the whole log: the lines already stored are not stored twice.
          if (skip > 0) {
            skip -= 1;
            continue;
          }
          const time = new Date();
          events.onLogLine({ time, stream: name, host, text });
          if (name === 'stderr') {
            stderrTail.push(text);
            if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
          }
          for (const p of extractor.extract(text)) events.onMetric({ ...p, time, host });
        }
      };
      for await (const chunk of stream) emit(splitter.push(chunk as Buffer));
      emit(splitter.end());
    };
    const logsDone = Promise.all([consume(logs.stdout, 'stdout'), consume(logs.stderr, 'stderr')]);

    // The first reason to stop wins, so a deadline and a cancel never blur.
    let stopReason: StopReason | undefined;
    let volumeMessage: string | undefined;
    const timers: NodeJS.Timeout[] = [];
    const stop = (reason: StopReason) => {
      if (stopReason) return;
      stopReason = reason;
      log.info({ reason }, 'stopping the container');
      void engine.killContainer(containerId, 'SIGTERM').catch((e) => log.warn({ err: e }, 'SIGTERM failed'));
      timers.push(
        setTimeout(() => void engine.killContainer(containerId, 'SIGKILL').catch((e) => log.warn({ err: e }, 'SIGKILL failed')), settings.stopGracePeriodMs),
      );
    };
    timers.push(setTimeout(() => stop('deadline'), Math.max(0, s.remainingMs)));
    const volumeLimit = spec.volumeSizeInGB * GiB;
    const volumeCheck = setInterval(() => {
      engine
        .writtenBytes(containerId)
        .then((bytes) => {
          if (bytes > volumeLimit && !stopReason) {
            volumeMessage = `The job wrote ${(bytes / GiB).toFixed(2)} GB to its volume, more than resourceConfig.volumeSizeInGB (${spec.volumeSizeInGB} GB).`;
            stop('volume');
          }
        })
        .catch(() => undefined);
    }, settings.volumeCheckIntervalMs);
    const onAbort = () => stop('cancel');
    if (s.signal.aborted) onAbort();
    else s.signal.addEventListener('abort', onAbort, { once: true });

    let exitCode: number;
    try {
      exitCode = await engine.waitContainer(containerId);
    } finally {
      s.signal.removeEventListener('abort', onAbort);
      timers.forEach(clearTimeout);
      clearInterval(volumeCheck);
    }
    await logsDone;
    const state = await engine.inspectContainer(containerId);

    // What the algorithm left is packaged whatever the outcome: a stopped run keeps its partial model.
    const artifacts = await this.packageArtifacts(containerId, spec.artifactsDir);
    const failureTar = await engine.getArchive(containerId, '/opt/ml/output/failure');
    const failureText = failureTar ? await readFirstFile(failureTar, FAILURE_CHARS) : undefined;
    const base = { exitCode, imageDigest: s.imageDigest, timedOut: stopReason === 'deadline', cancelled: stopReason === 'cancel', ...artifacts };
    const failed = (statusCode: RunStatusCode, message: string) => this.result(s.startedAt, { ...base, succeeded: false, statusCode, message });

    let result: RunResult;
    if (stopReason === 'cancel') {
      result = failed('CANCELLED', 'The trained model was cancelled; its containers were stopped.');
    } else if (stopReason === 'deadline') {
      result = failed(
        'MAX_RUNTIME_EXCEEDED',
        `The training job ran past its stoppingCondition.maxRuntimeInSeconds of ${spec.maxRuntimeInSeconds} seconds and was stopped.`,
      );
    } else if (stopReason === 'volume') {
      result = failed('ALGORITHM_ERROR', volumeMessage!);
    } else if (state.oomKilled && exitCode !== 0) {
      const gb = s.limits ? ` of ${(s.limits.memoryBytes / GiB).toFixed(1)} GiB` : '';
      result = failed('OUT_OF_MEMORY', `The algorithm ran out of memory: the engine killed it at the ${spec.instanceType} limit${gb}.`);
    } else if (exitCode === 0) {
      result = this.result(s.startedAt, { ...base, succeeded: true });
    } else {
      const message =
        failureText?.trim() ||
        [`Algorithm exited with code ${exitCode}.`, ...(stderrTail.length ? ['Last lines of stderr:', ...stderrTail] : [])]
          .join('\n')
          .slice(0, FAILURE_CHARS);
      result = failed('ALGORITHM_ERROR', message);
    }
    await this.writeManifest(spec, result, s.limits, await channelHashes);
    return result;
  }

  private result(startedAt: Date, r: Partial<RunResult> & { succeeded: boolean }): RunResult {
    const endedAt = new Date();
    return { timedOut: false, cancelled: false, startedAt, endedAt, durationMs: endedAt.getTime() - startedAt.getTime(), ...r };
  }

  private runnerLine(events: RunEvents, host: string, text: string): void {
    events.onLogLine({ time: new Date(), stream: 'stderr', host, text: `[cleanrooms-ml-local] ${text}` });
  }

  private async remove(containerId: string, log: Logger): Promise<void> {
    await this.opts.engine.removeContainer(containerId).catch((e) => log.error({ err: e, containerId }, 'could not remove container'));
  }

  private async packageArtifacts(containerId: string, dir: string): Promise<Partial<RunResult>> {
    const out: Partial<RunResult> = {};
    const model = await this.opts.engine.getArchive(containerId, '/opt/ml/model');
    if (model) out.modelArtifactPath = (await packageFolder(model, join(dir, 'model.tar.gz'))).path;
    const output = await this.opts.engine.getArchive(containerId, '/opt/ml/output/data');
    if (output) out.outputArtifactPath = (await packageFolder(output, join(dir, 'output.tar.gz'))).path;
    return out;
  }

  /** Enough to reproduce or compare a run: what ran, on what, with which limits, and how it ended. */
  private async writeManifest(
    spec: TrainingJobSpec,
    result: RunResult,
    limits: AppliedLimits | undefined,
    channelHashes: Record<string, string> = {},
  ): Promise<void> {
    const manifest = {
      trainedModelArn: spec.trainedModelArn,
      image: { uri: spec.imageUri, digest: result.imageDigest },
      request: spec,
      limits,
      channels: spec.channels.map((c) => ({ channelName: c.channelName, sha256: channelHashes[c.channelName] })),
      startedAt: result.startedAt.toISOString(),
      endedAt: result.endedAt.toISOString(),
      durationMs: result.durationMs,
      exitCode: result.exitCode,
      succeeded: result.succeeded,
      statusCode: result.statusCode,
      message: result.message,
    };
    await writeFile(join(spec.artifactsDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
}
