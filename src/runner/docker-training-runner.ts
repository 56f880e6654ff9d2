import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import { ChannelMountError, channelMounts } from '../channels/channel-mounts.js';
import { channelContentHashes } from '../channels/channel-content-hash.js';
import type { ContainerEngine } from './container-engine.js';
import { ImagePullError, ImageResolver, type RegistryAuthProvider, type ResolvedImage } from './image-resolver.js';
import { hostCapacity, InsufficientCapacityError, limitsFor, type AppliedLimits, type HostCapacity } from './resource-limits.js';
import { configFiles } from './training-environment.js';
import { optMlSkeleton } from './opt-ml-skeleton.js';
import { LABEL_HOST, LABEL_TRAINED_MODEL, trainingContainerSpec } from './container-config.js';
import { LogFollower } from './log-follower.js';
import { StopController } from './stop-controller.js';
import { classifyExit, FAILURE_MESSAGE_CHARS, type Outcome } from './run-outcome.js';
import { packageArtifacts, readFailureFile } from './artifact-packager.js';
import { writeRunManifest } from './run-manifest.js';
import { CapacityGate } from './capacity-gate.js';
import type { ReattachOptions, RunEvents, RunResult, RunStatusCode, TrainingJobSpec, TrainingRunner } from './types.js';

export interface DockerTrainingRunnerOptions {
  engine: ContainerEngine;
  logger: Logger;
  settings: Settings;
  /** Finds or pulls images; by default one over `engine` with settings.pullPolicy and `registryAuth`. */
  imageResolver?: ImageResolver;
  /** Registry credentials for the default image resolver (ECR and others). */
  registryAuth?: RegistryAuthProvider;
  /** What this machine can give containers; measured by default (tests inject a small one). */
  host?: HostCapacity;
}

const GiB = 1024 ** 3;
/** How long the log stream may lag behind the container's exit before the run goes on without it. */
const LOG_DRAIN_MS = 10_000;

/** What one run knows once its container exists: shared by a fresh run and a re-attached one. */
interface Supervision {
  spec: TrainingJobSpec;
  events: RunEvents;
  signal: AbortSignal;
  log: Logger;
  containerId: string;
  host: string;
  image?: ResolvedImage;
  limits?: AppliedLimits;
  startedAt: Date;
  /** Milliseconds left before the deadline. */
  remainingMs: number;
  skipLines?: { stdout: number; stderr: number };
}

/**
 * Runs one trained model in containers through the engine: waits for room on the host, resolves the image,
 * lays out /opt/ml through the archive API, starts the container with the instance type's limits and the
 * hardening of contract §5, streams its logs into lines and metric points, stops it at the deadline, on cancel
 * or when it writes past volumeSizeInGB (SIGTERM, then SIGKILL after the grace period), packages the
 * artifacts, and removes the container whatever happened. One instance for now: instanceCount > 1 runs algo-1.
 */
export class DockerTrainingRunner implements TrainingRunner {
  private readonly host: HostCapacity;
  private readonly capacity: CapacityGate;
  private readonly resolver: ImageResolver;

  constructor(private readonly opts: DockerTrainingRunnerOptions) {
    this.host = opts.host ?? hostCapacity();
    this.capacity = new CapacityGate({ cpus: this.host.cpus, memoryBytes: this.host.memoryBytes });
    this.resolver =
      opts.imageResolver ??
      new ImageResolver({ engine: opts.engine, pullPolicy: opts.settings.pullPolicy, registryAuth: opts.registryAuth, logger: opts.logger });
  }

  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    const { engine, settings } = this.opts;
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn });
    const startedAt = new Date();
    const host = 'algo-1';
    const hosts = [host];
    let limits: AppliedLimits | undefined;
    let image: ResolvedImage | undefined;
    const early = async (statusCode: RunStatusCode, message: string, cause?: unknown) => {
      const result = finish(startedAt, { succeeded: false, statusCode, message, cancelled: statusCode === 'CANCELLED', imageDigest: image?.digest, cause });
      log.info({ statusCode, message }, 'run ended before its container ran');
      await this.manifest(spec, result, { limits, imageId: image?.imageId }, log);
      return result;
    };

    try {
      limits = limitsFor(spec.instanceType, this.host, settings.strictResources);
    } catch (e) {
      if (e instanceof InsufficientCapacityError) return await early('INTERNAL_ERROR', e.message, e);
      throw e;
    }
    let release: () => void;
    try {
      release = await this.capacity.acquire({ cpus: limits.vcpus, memoryBytes: limits.memoryBytes }, signal);
    } catch {
      return await early('CANCELLED', 'The trained model was cancelled before it started.');
    }
    let containerId: string | undefined;
    try {
      log.info({ limits }, 'limits applied');
      if (limits.scaledDown) {
        log.warn({ limits }, limits.scaledDown);
        runnerLine(events, host, limits.scaledDown);
      }
      if (spec.instanceCount > 1) {
        const note = `instanceCount ${spec.instanceCount}: this runner trains on one instance (algo-1) only for now.`;
        log.warn(note);
        runnerLine(events, host, note);
      }
      const mounts = channelMounts(spec.channels, engine);
      try {
        image = await this.resolver.resolve(spec.imageUri, (p) => log.debug({ pull: p }, 'pull progress'));
      } catch (e) {
        if (e instanceof ImagePullError) return await early('IMAGE_PULL_FAILED', e.message, e);
        throw e;
      }
      if (signal.aborted) return await early('CANCELLED', 'The trained model was cancelled before it started.');

      const files = configFiles(spec, host, hosts);
      containerId = await engine.createContainer(
        trainingContainerSpec({
          spec, host, hosts, limits, mounts,
          imageId: image.imageId,
          hardening: settings.hardening,
          configFiles: files,
          // A single instance trains with no network at all (contract §5), unless a setting says otherwise.
          networkMode: settings.hardening.singleInstanceNetwork,
        }),
      );
      log.debug({ containerId }, 'container created');
      // The writable /opt/ml areas live in the container, never in host folders; config files are read-only.
      await engine.putArchive(containerId, '/', optMlSkeleton(files));
      await engine.startContainer(containerId);
      await events.onStarted({ imageDigest: image.digest, containerIds: [containerId] });
      return await this.supervise({
        spec, events, signal, log, containerId, host, image, limits, startedAt,
        remainingMs: spec.maxRuntimeInSeconds * 1000,
      });
    } catch (e) {
      if (e instanceof ChannelMountError) return await early('INTERNAL_ERROR', e.message, e);
      log.error({ err: e }, 'run failed on the runner side');
      return await early('INTERNAL_ERROR', `cleanrooms-ml-local failed to run the container: ${(e as Error).message}`, e);
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
    const { spec, log, containerId } = s;
    const channelHashes = channelContentHashes(spec.channels).catch((e: unknown) => {
      log.warn({ err: e }, 'could not hash the channels');
      return {};
    });
    const follower = new LogFollower({ events: s.events, host: s.host, metricDefinitions: spec.metricDefinitions, skipLines: s.skipLines });
    const logsDone = engine.followLogs(containerId).then((logs) => follower.follow(logs));

    const stopper = new StopController({ kill: (signal) => engine.killContainer(containerId, signal), gracePeriodMs: settings.stopGracePeriodMs, logger: log });
    stopper.armDeadline(s.remainingMs);
    stopper.watchSignal(s.signal);
    const volumeLimit = spec.volumeSizeInGB * GiB;
    stopper.watchVolume(async () => {
      const bytes = await engine.writtenBytes(containerId);
      return bytes > volumeLimit
        ? `The job wrote ${(bytes / GiB).toFixed(2)} GB to its volume, more than resourceConfig.volumeSizeInGB (${spec.volumeSizeInGB} GB).`
        : undefined;
    }, settings.volumeCheckIntervalMs);

    let exitCode: number;
    try {
      exitCode = await engine.waitContainer(containerId);
    } finally {
      stopper.dispose();
    }
    const drained = await Promise.race([logsDone.then(() => true), delay(LOG_DRAIN_MS).then(() => false)]);
    if (!drained) log.warn('the log stream did not end with the container; going on without its last lines');
    const state = await engine.inspectContainer(containerId);

    const artifacts = await packageArtifacts(engine, containerId, spec.artifactsDir);
    const failureText = exitCode !== 0 ? await readFailureFile(engine, containerId, FAILURE_MESSAGE_CHARS) : undefined;
    const outcome: Outcome = classifyExit({
      instanceType: spec.instanceType,
      maxRuntimeInSeconds: spec.maxRuntimeInSeconds,
      stopReason: stopper.reason,
      stopDetail: stopper.detail,
      exitCode,
      oomKilled: state.oomKilled,
      failureText,
      stderrTail: follower.stderrTail,
      limits: s.limits,
    });
    const result = finish(s.startedAt, {
      ...outcome,
      ...artifacts,
      exitCode,
      imageDigest: s.image?.digest,
      timedOut: stopper.reason === 'deadline',
      cancelled: stopper.reason === 'cancel',
    });
    log.info({ exitCode, oomKilled: state.oomKilled, stopReason: stopper.reason, statusCode: result.statusCode }, 'run ended');
    await this.manifest(spec, result, { limits: s.limits, channelHashes: await channelHashes, imageId: s.image?.imageId, containerIds: [containerId] }, log);
    return result;
  }

  private async manifest(spec: TrainingJobSpec, result: RunResult, extra: Parameters<typeof writeRunManifest>[2], log: Logger): Promise<void> {
    try {
      await mkdir(spec.artifactsDir, { recursive: true });
      await writeRunManifest(spec, result, extra);
    } catch (e) {
      log.warn({ err: e }, 'could not write the run manifest');
    }
  }

  private async remove(containerId: string, log: Logger): Promise<void> {
    await this.opts.engine.removeContainer(containerId).catch((e: unknown) => log.error({ err: e, containerId }, 'could not remove container'));
  }
}

function finish(startedAt: Date, r: Partial<RunResult> & { succeeded: boolean }): RunResult {
  const endedAt = new Date();
  return { timedOut: false, cancelled: false, ...r, startedAt, endedAt, durationMs: endedAt.getTime() - startedAt.getTime() };
}

/** A line of the runner's own in the run's log, so a user reading the logs sees what was decided for the run. */
function runnerLine(events: RunEvents, host: string, text: string): void {
  events.onLogLine({ time: new Date(), stream: 'stderr', host, text: `[cleanrooms-ml-local] ${text}` });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
