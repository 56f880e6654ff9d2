import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CHANNELS_ROOT, channelDelivery, type ChannelBindMount, type ChannelDelivery } from '../channels/channel-mounts.js';
import type { ChannelSpec } from '../channels/channel-spec.js';
import { PipeFeeder } from './pipe-mode.js';
import { channelContentHashes } from '../channels/channel-content-hash.js';
import { EngineError, type StopSignal } from './container-engine.js';
import { buildContextTar } from './build-context.js';
import { ImagePullError, type ImageResolver, type ResolvedImage } from './image-resolver.js';
import { InsufficientCapacityError, limitsFor, type AppliedLimits, type HostCapacity } from './resource-limits.js';
import { configFiles } from './training-environment.js';
import { CONFIG_FOLDER, optMlSkeleton, writeConfigFolder } from './opt-ml-skeleton.js';
import { SkeletonImages, type EmptyInImage, type SkeletonImage } from './skeleton-images.js';
import { LABEL_HOST, LABEL_TRAINED_MODEL, LABEL_VERSION, trainingContainerSpec } from './container-config.js';
import { drainLogs, LOG_DRAIN_MS, LogFollower } from './log-follower.js';
import { StopController } from './stop-controller.js';
import { volumeOverage } from './volume-check.js';
import { classifyExit, FAILURE_MESSAGE_CHARS, runEnded, runFailed, type Outcome } from './run-outcome.js';
import { packageArtifacts, readFailureFile } from './artifact-packager.js';
import { artifactSizeFailure } from './artifact-size.js';
import { waitForExit } from './container-wait.js';
import type { writeRunManifest } from './run-manifest.js';
import { CANCELLED_BEFORE_START, EndedEarly, endRunEarly, writeRunManifestLogged } from './ended-early.js';
import type { CapacityGate } from './capacity-gate.js';
import { channelShardTar, listChannelFiles, shardFor, type ChannelFile } from './channel-shards.js';
import { clusterHosts, clusterNetworkName, createClusterNetwork } from './cluster-network.js';
import { removeStrayRuns } from './stray-runs.js';
import { ProvisionedRun, type Member } from './provisioned-run.js';
import { channelLines, clusterLine, peerFailedLine, runnerLine } from './run-narration.js';
import { runnerResources, type RunnerResourceOptions } from './runner-resources.js';
import type { ImageBuildSpec, ReattachOptions, RunEvents, RunKey, RunResult, TrainingJobSpec, TrainingRunner } from './types.js';

export type DockerTrainingRunnerOptions = RunnerResourceOptions;


type LineCounts = { stdout: number; stderr: number };

/** One run as it goes, and what is decided so far (for the manifest of a run that ends early). */
interface RunContext {
  spec: TrainingJobSpec;
  events: RunEvents;
  signal: AbortSignal;
  log: Logger;
  startedAt: Date;
  limits?: AppliedLimits;
  image?: ResolvedImage;
}

/** What prepare() settled before anything exists on the engine: limits, room on the host, delivery, image. */
interface PreparedRun extends RunContext {
  hosts: string[];
  limits: AppliedLimits;
  delivery: ChannelDelivery;
  image: ResolvedImage;
  /** Gives the host's room back. */
  release: () => void;
}

/** What one run knows once its containers exist: shared by a fresh run and a re-attached one. */
interface Supervision extends RunContext {
  /** Every instance, algo-1 first: its artifacts are the run's. */
  members: Member[];
  /** Milliseconds left before the deadline. */
  remainingMs: number;
  /** Lines already delivered, per host. */
  skipLines?: Record<string, LineCounts>;
  /** Artifact folders empty in the image algo-1 started from (a skeleton image): not read back when untouched. */
  emptyInImage?: readonly EmptyInImage[];
  /** Removes the run's containers, once everything they left has been read (ProvisionedRun.removeContainers). */
  removeContainers: () => Promise<void>;
}

/** ReattachOptions, plus per-host line counts for a cluster (the store's totals cannot be split per host). */
export type ClusterReattachOptions = ReattachOptions & { skipLinesByHost?: Record<string, LineCounts> };

/**
 * Runs one trained model in containers through the engine: waits for room on the host, resolves the image,
 * lays out /opt/ml through the archive API, starts the container with the instance type's limits and the
 * hardening of contract §5, streams its logs into lines and metric points, stops it at the deadline, on cancel
 * or when it writes past volumeSizeInGB (SIGTERM, then SIGKILL after the grace period), packages the
 * artifacts, and removes the container whatever happened. instanceCount > 1 runs one container per host
 * (algo-1 … algo-N) on an internal network of the run's own; the first instance to fail fails the run and the
 * others are stopped; algo-1's /opt/ml is what gets packaged.
 */
export class DockerTrainingRunner implements TrainingRunner {
  private readonly host: HostCapacity;
  private readonly capacity: CapacityGate;
  private readonly resolver: ImageResolver;
  private readonly skeletons?: SkeletonImages;

  constructor(private readonly opts: DockerTrainingRunnerOptions) {
    ({ host: this.host, capacity: this.capacity, resolver: this.resolver } = runnerResources(opts));
    if (opts.settings.skeletonImages) this.skeletons = new SkeletonImages(opts.engine, opts.logger);
  }

  /** Waits for work this runner does in the background (skeleton images being made). */
  async settled(): Promise<void> {
    await this.skeletons?.settled();
  }

  /** prepare → provision → start → supervise; what was provisioned is removed on every path. */
  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    const ctx: RunContext = { spec, events, signal, log: this.opts.logger.child({ trainedModelArn: spec.trainedModelArn }), startedAt: new Date() };
    try {
      const prepared = await this.prepare(ctx);
      try {
        await using provisioned = await this.provision(prepared);
        await this.start(prepared, provisioned);
        return await this.supervise({
          ...prepared,
          members: provisioned.members,
          remainingMs: spec.maxRuntimeInSeconds * 1000,
          emptyInImage: provisioned.emptyInImage,
          removeContainers: () => provisioned.removeContainers(),
        });
      } finally {
        prepared.release();
      }
    } catch (e) {
      return await this.endEarly(ctx, e);
    }
  }

  async reattach(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal, options: ClusterReattachOptions): Promise<RunResult | undefined> {
    const { engine } = this.opts;
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn, reattached: true });
    // Another version of the same trained model may be running too: only this version's containers are ours.
    const found = (await engine.listContainers(`${LABEL_TRAINED_MODEL}=${spec.trainedModelArn}`)).filter(
      (c) => (c.labels[LABEL_VERSION] ?? '') === (spec.versionIdentifier ?? ''),
    );
    if (found.length === 0) return undefined;
    // What that process provisioned, to end through the same clean-up as a fresh run: its containers, its
    // FIFOs' folder, and a cluster's network.
    await using run = new ProvisionedRun(engine, log);
    run.members.push(
      ...found.map((c) => ({ containerId: c.id, host: c.labels[LABEL_HOST] ?? 'algo-1' })).sort((a, b) => hostNumber(a.host) - hostNumber(b.host)),
    );
    run.pipesFolder = pipesFolder(spec);
    run.configFolder = configFolder(spec);
    if (spec.instanceCount > 1 || found.length > 1) run.network = clusterNetworkName(spec.trainedModelArn, spec.versionIdentifier);

    let limits: AppliedLimits | undefined;
    try {
      limits = limitsFor(spec.instanceType, this.host, false);
    } catch {
      limits = undefined;
    }
    log.info({ containers: found.map((c) => ({ id: c.id, running: c.running })) }, 're-attaching to a run a previous process started');
    const cannotTakeOver = async (message: string) => {
      const result = runFailed(options.startedAt, 'INTERNAL_ERROR', message);
      await this.manifest(spec, result, { limits, containerIds: run.containerIds }, log);
      return result;
    };
    if (existsSync(pipesFolder(spec))) {
      // The FIFOs' writer died with that process: the algorithm saw its stream end early, and no one can
      // resume it where it stopped. Better a clear failure than a model trained on part of the data.
      return await cannotTakeOver(
        'cleanrooms-ml-local stopped while it streamed the Pipe-mode channels; a FIFO cannot be resumed, so the run cannot be taken over.',
      );
    }
    if (run.members.length < spec.instanceCount) {
      // The previous process died while it created the cluster: some instances never existed.
      return await cannotTakeOver(
        `cleanrooms-ml-local stopped while it created the run's ${spec.instanceCount} containers; only ${run.members.length} exist.`,
      );
    }
    // One instance: the store's per-stream totals are its own. A cluster needs per-host counts; without them
    // every host's log is replayed whole (duplicates rather than lost lines).
    const skipLines = options.skipLinesByHost ?? (run.members.length === 1 ? { [run.members[0]!.host]: options.skipLines } : undefined);
    if (!skipLines) log.warn('re-attached cluster without per-host line counts: its logs are replayed from the start');
    return await this.supervise({
      spec, events, signal, log, limits,
      members: run.members,
      startedAt: options.startedAt,
      remainingMs: options.startedAt.getTime() + spec.maxRuntimeInSeconds * 1000 - Date.now(),
      skipLines,
      removeContainers: () => run.removeContainers(),
    });
  }

  async removeStrayRuns(storeId: string, keep: (run: RunKey) => boolean): Promise<number> {
    return removeStrayRuns(this.opts.engine, storeId, keep, this.opts.logger);
  }

  /** Streams the folder to the engine's builder (its .dockerignore applied, links not followed) and tags the image. */
  async buildImage(spec: ImageBuildSpec): Promise<{ imageId: string }> {
    const log = this.opts.logger.child({ build: spec.context, tag: spec.tag });
    log.info('building image');
    const context = buildContextTar(spec.context, { dockerfile: spec.dockerfile });
    try {
      await this.opts.engine.buildImage(context, { tag: spec.tag, dockerfile: spec.dockerfile, buildArgs: spec.buildArgs, onProgress: spec.onProgress, signal: spec.signal });
    } finally {
      context.destroy();
    }
    const image = await this.opts.engine.inspectImage(spec.tag);
    if (!image) throw new EngineError(`the build reported success but the engine has no image ${spec.tag}`, undefined, { operation: 'build' });
    log.info({ imageId: image.id }, 'image built');
    return { imageId: image.id };
  }

  /** Limits, room on the host, how the channels reach the containers, the image: nothing on the engine yet. */
  private async prepare(ctx: RunContext): Promise<PreparedRun> {
    const { spec, events, signal, log } = ctx;
    const hosts = clusterHosts(spec.instanceCount);
    let limits: AppliedLimits;
    try {
      limits = ctx.limits = limitsFor(spec.instanceType, this.host, this.opts.settings.strictResources);
    } catch (e) {
      if (e instanceof InsufficientCapacityError) throw new EndedEarly('INTERNAL_ERROR', e.message, { cause: e });
      throw e;
    }
    let release: () => void;
    try {
      // The whole cluster at once: N times the instance type's limits (an idle host still takes any run).
      release = await this.capacity.acquire({ cpus: limits.vcpus * hosts.length, memoryBytes: limits.memoryBytes * hosts.length }, signal);
    } catch {
      throw new EndedEarly('CANCELLED', CANCELLED_BEFORE_START);
    }
    try {
      log.info({ limits, instanceCount: hosts.length }, 'limits applied');
      if (limits.scaledDown) {
        log.warn({ limits }, limits.scaledDown);
        runnerLine(events, hosts[0]!, limits.scaledDown);
      }
      const delivery = channelDelivery(spec.channels, this.opts.engine, hosts.length, spec.trainingInputMode);
      const image = (ctx.image = await this.resolveImage(ctx));
      if (signal.aborted) throw new EndedEarly('CANCELLED', CANCELLED_BEFORE_START);
      return { ...ctx, hosts, limits, delivery, image, release };
    } catch (e) {
      release();
      throw e;
    }
  }

  private async resolveImage({ spec, events, log }: RunContext): Promise<ResolvedImage> {
    try {
      return await this.resolver.resolve(spec.imageUri, (p) => {
        log.info({ pull: p }, 'pull progress');
        events.onPullProgress?.(p);
      });
    } catch (e) {
      if (e instanceof ImagePullError) throw new EndedEarly('IMAGE_PULL_FAILED', e.message, { cause: e });
      throw e;
    }
  }

  /**
   * The cluster network, the FIFOs, the containers and their /opt/ml (created, not started). On a failure
   * half-way, what exists so far is removed before the error goes on.
   */
  private async provision(p: PreparedRun): Promise<ProvisionedRun> {
    const { engine, settings } = this.opts;
    const { spec, events, log, hosts, delivery, limits, image } = p;
    const host = hosts[0]!;
    const cluster = hosts.length > 1;
    const run = new ProvisionedRun(engine, log);
    try {
      const shares = new Map<string, ChannelFile[]>();
      for (const c of [...delivery.streamed, ...delivery.piped]) shares.set(c.channelName, await listChannelFiles(c.hostPath));
      const shareOf = (c: ChannelSpec, i: number) => {
        const all = shares.get(c.channelName) ?? [];
        return c.s3DataDistributionType === 'ShardedByS3Key' ? shardFor(all, i, hosts.length) : all;
      };
      if (cluster) {
        const created = await createClusterNetwork(engine, spec);
        run.network = created.name;
        log.info({ network: run.network, hosts }, 'cluster network created');
        if (created.warning) runnerLine(events, host, created.warning);
        runnerLine(events, host, clusterLine(hosts, run.network));
      }
      // Streamed channels take an archive call each anyway: a skeleton image would spare nothing.
      const skeleton = delivery.streamed.length === 0 ? await this.skeletons?.find(image.info) : undefined;
      // Say how the data reaches the containers whenever it is not the plain single-instance bind mount.
      if (cluster || delivery.streamed.length > 0 || delivery.piped.length > 0) {
        for (const line of channelLines(delivery, shares, hosts)) runnerLine(events, host, line);
      }

      for (const [i, h] of hosts.entries()) {
        const files = configFiles(spec, h, hosts);
        let pipeMount: ChannelBindMount[] = [];
        if (delivery.piped.length > 0) {
          // Pipe mode: this host's FIFOs live in a folder of their own, mounted as /opt/ml/input/data.
          run.pipesFolder = pipesFolder(spec);
          const dir = join(run.pipesFolder, h);
          const feeder = new PipeFeeder({
            dir,
            channels: delivery.piped.map((c) => ({ channelName: c.channelName, files: shareOf(c, i) })),
            mountPoints: delivery.mounts.map((m) => m.channelName),
            log: log.child({ host: h }),
          });
          run.feeders.push(feeder);
          await feeder.prepare();
          pipeMount = [{ channelName: '', hostPath: dir, containerPath: CHANNELS_ROOT, readOnly: true }];
        }
        // From the skeleton image, config files come through a read-only bind mount and nothing is put in
        // before start; otherwise the whole /opt/ml goes in through the archive API.
        const create = async (from: SkeletonImage | undefined) => {
          const configMount: ChannelBindMount[] = [];
          if (from) {
            run.configFolder = configFolder(spec);
            const hostPath = await writeConfigFolder(join(run.configFolder, h), files);
            configMount.push({ channelName: '', hostPath, containerPath: CONFIG_FOLDER, readOnly: true });
          }
          return engine.createContainer(
            trainingContainerSpec({
              spec, host: h, hosts, limits,
              mounts: [...pipeMount, ...configMount, ...delivery.mounts],
              imageId: from?.imageId ?? image.imageId,
              hardening: settings.hardening,
              configFiles: files,
              // A single instance trains with no network at all (contract §5), unless a setting says otherwise.
              networkMode: run.network ?? settings.hardening.singleInstanceNetwork,
            }),
          );
        };
        let from = skeleton;
        let containerId: string;
        try {
          containerId = await create(from);
        } catch (e) {
          // The skeleton image went between finding and using it (removed by hand, or pruned): without it.
          if (!from || !(e instanceof EngineError) || e.statusCode !== 404) throw e;
          log.warn({ err: e, skeletonImageId: from.imageId }, 'skeleton image gone: laying out /opt/ml through the archive API');
          from = undefined;
          containerId = await create(from);
        }
        run.members.push({ containerId, host: h });
        if (i === 0) run.emptyInImage = from?.emptyFolders;
        log.debug({ containerId, host: h, skeletonImageId: from?.imageId }, 'container created');
        // The writable /opt/ml areas live in the container, never in host folders; config files are read-only.
        if (!from) await engine.putArchive(containerId, '/', optMlSkeleton(files, { dataFolderMounted: pipeMount.length > 0 }));
        for (const c of delivery.streamed) await engine.putArchive(containerId, '/', channelShardTar(c.channelName, shareOf(c, i)));
      }
      return run;
    } catch (e) {
      await run[Symbol.asyncDispose]();
      throw e;
    }
  }

  /** Attaches, starts every container and feeder, and tells the caller the run is in progress. */
  private async start(p: PreparedRun, run: ProvisionedRun): Promise<void> {
    const { engine } = this.opts;
    // Attached before start, so nothing is missed: the raw stream, as `docker run` reads it, is much faster
    // than following the engine's log file (which stays there for a process that has to re-attach).
    for (const m of run.members) m.output = await engine.attachOutput(m.containerId);
    for (const m of run.members) await engine.startContainer(m.containerId);
    for (const f of run.feeders) f.start();
    await p.events.onStarted({ imageDigest: p.image.digest, containerIds: run.containerIds });
  }

  /** From started containers to the run's result: logs, deadline, cancel, volume cap, exits, artifacts. */
  private async supervise(s: Supervision): Promise<RunResult> {
    const { engine, settings } = this.opts;
    const { spec, log, members } = s;
    const cluster = members.length > 1;
    const channelHashes = channelContentHashes(spec.channels).catch((e: unknown) => {
      log.warn({ err: e }, 'could not hash the channels');
      return {};
    });
    const followers = members.map(
      (m) => new LogFollower({ events: s.events, host: m.host, metricDefinitions: spec.metricDefinitions, skipLines: s.skipLines?.[m.host] }),
    );
    const logsDone = Promise.all(
      members.map((m, i) => (m.output ? Promise.resolve(m.output) : engine.followLogs(m.containerId)).then((logs) => followers[i]!.follow(logs))),
    );

    const killAll = async (signal: StopSignal, except?: string) => {
      await Promise.all(members.filter((m) => m.host !== except).map((m) => engine.killContainer(m.containerId, signal)));
    };
    const stopper = new StopController({ kill: killAll, gracePeriodMs: settings.stopGracePeriodMs, logger: log });
    stopper.armDeadline(s.remainingMs);
    stopper.watchSignal(s.signal);
    stopper.watchVolume(() => volumeOverage(engine, members, spec.volumeSizeInGB), settings.volumeCheckIntervalMs);

    // The first instance to fail fails the run: the others get SIGTERM, then SIGKILL after the grace period.
    let failed: Member | undefined;
    const exitCodes = new Map<Member, number>();
    try {
      await Promise.all(
        members.map((m) =>
          waitForExit(engine, m.containerId, log).then((code) => {
            exitCodes.set(m, code);
            if (code !== 0 && !failed && !stopper.reason) {
              failed = m;
              if (cluster) {
                log.info({ host: m.host, exitCode: code }, 'an instance failed: stopping the others');
                runnerLine(s.events, m.host, peerFailedLine(m.host, code));
                stopper.stopOthers(m.host);
              }
            }
          }),
        ),
      );
    } finally {
      stopper.dispose();
    }
    // What the job wrote after the last live check counts too: measured while the rest is read, and recorded
    // before the outcome is decided.
    const finalVolume = stopper.reason ? Promise.resolve(undefined) : volumeOverage(engine, members, spec.volumeSizeInGB);
    const drained = await drainLogs(logsDone, followers, LOG_DRAIN_MS);
    if (!drained) log.warn('the log stream did not end with the containers; going on without their last lines');

    // Every container has exited: from here on, what they left is read and packaged.
    // The instance that decides the outcome: the first to fail, else algo-1.
    const decisive = failed ?? members[0]!;
    const exitCode = exitCodes.get(decisive) ?? 0;
    // Independent reads of the ended containers, at once.
    let artifactsRead: () => void = () => undefined;
    const reads = [
      finalVolume,
      // Only an instance that failed can have been killed for its memory (classifyExit): one engine call less.
      exitCode !== 0 ? engine.inspectContainer(decisive.containerId) : Promise.resolve({ oomKilled: false }),
      exitCode !== 0 ? readFailureFile(engine, decisive.containerId, FAILURE_MESSAGE_CHARS) : Promise.resolve(undefined),
      new Promise<void>((resolve) => (artifactsRead = resolve)),
    ] as const;
    // Once nothing more is read from the containers, they go, while the archives are finished and the outcome and
    // manifest written (the run's clean-up awaits the same removal: nothing is left behind whatever happens next).
    void Promise.allSettled(reads).then(() => s.removeContainers());
    const [overage, state, failureText, , artifacts] = await Promise.all([
      ...reads,
      packageArtifacts(engine, members[0]!.containerId, spec.artifactsDir, {
        onDropped: (note) => runnerLine(s.events, members[0]!.host, note),
        emptyInImage: s.emptyInImage,
        onEngineDone: artifactsRead,
      }),
    ]);
    stopper.record('volume', overage);
    let outcome: Outcome = classifyExit({
      instanceType: spec.instanceType,
      maxRuntimeInSeconds: spec.maxRuntimeInSeconds,
      stopReason: stopper.reason,
      stopDetail: stopper.detail,
      exitCode,
      oomKilled: state.oomKilled,
      failureText,
      stderrTail: followers[members.indexOf(decisive)]!.stderrTail,
      limits: s.limits,
    });
    if (cluster && failed && !outcome.succeeded && !stopper.reason) {
      outcome = { ...outcome, message: [...`Instance ${failed.host} failed: ${outcome.message}`].slice(0, FAILURE_MESSAGE_CHARS).join('') };
    }
    if (outcome.succeeded) {
      // The association's maxArtifactSize, decided before the manifest: it never calls a too-large model a success.
      const tooLarge = await artifactSizeFailure([artifacts.modelArtifactPath, artifacts.outputArtifactPath], spec.maxArtifactBytes);
      if (tooLarge) outcome = { succeeded: false, statusCode: 'ALGORITHM_ERROR', message: tooLarge };
    }
    const result = runEnded(s.startedAt, outcome, { ...artifacts, exitCode, imageDigest: s.image?.digest, limits: s.limits, stopReason: stopper.reason });
    log.info(
      { exitCodes: Object.fromEntries(members.map((m) => [m.host, exitCodes.get(m)])), failedHost: failed?.host, oomKilled: state.oomKilled, stopReason: stopper.reason, statusCode: result.statusCode },
      'run ended',
    );
    await this.manifest(
      spec,
      result,
      { limits: s.limits, channelHashes: await channelHashes, imageId: s.image?.imageId, containerIds: members.map((m) => m.containerId) },
      log,
    );
    return result;
  }

  /** The result of a run that ended before its containers ran, or failed on the runner's side; with its manifest. */
  private async endEarly(ctx: RunContext, e: unknown): Promise<RunResult> {
    // Before the limits are decided, an unexpected error is the caller's (the request itself is wrong).
    if (!(e instanceof EndedEarly) && !ctx.limits) throw e;
    return endRunEarly(ctx, e, this.opts.engine, 'container');
  }

  private manifest(spec: TrainingJobSpec, result: RunResult, extra: Parameters<typeof writeRunManifest>[2], log: Logger): Promise<void> {
    return writeRunManifestLogged(spec, result, extra, log);
  }
}

/** algo-3 → 3, for ordering a cluster's containers. */
function hostNumber(host: string): number {
  return Number(/(?<!\d)(\d+)$/.exec(host)?.[1] ?? Number.MAX_SAFE_INTEGER);
}

/** Where a run's config files live on this machine when it runs from a skeleton image, a folder per host; removed when the run ends. */
function configFolder(spec: TrainingJobSpec): string {
  return join(spec.artifactsDir, '.config');
}

/** Where a run's FIFOs live on this machine, a folder per host; removed when the run ends. */
function pipesFolder(spec: TrainingJobSpec): string {
  return join(spec.artifactsDir, '.pipes');
}
