import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import { CHANNELS_ROOT, ChannelMountError, channelDelivery, type ChannelBindMount, type ChannelDelivery } from '../channels/channel-mounts.js';
import { PipeFeeder } from './pipe-mode.js';
import { channelContentHashes } from '../channels/channel-content-hash.js';
import { EngineError, type ContainerEngine, type ContainerLogs, type StopSignal } from './container-engine.js';
import { ImagePullError, ImageResolver, type RegistryAuthProvider, type ResolvedImage } from './image-resolver.js';
import { hostCapacity, InsufficientCapacityError, limitsFor, type AppliedLimits, type HostCapacity } from './resource-limits.js';
import { configFiles } from './training-environment.js';
import { optMlSkeleton } from './opt-ml-skeleton.js';
import { LABEL_HOST, LABEL_TRAINED_MODEL, LABEL_VERSION, trainingContainerSpec } from './container-config.js';
import { LogFollower } from './log-follower.js';
import { StopController } from './stop-controller.js';
import { volumeOverage } from './volume-check.js';
import { classifyExit, FAILURE_MESSAGE_CHARS, type Outcome } from './run-outcome.js';
import { ArtifactPackagingError, packageArtifacts, readFailureFile } from './artifact-packager.js';
import { runnerFailure } from './runner-failure.js';
import { waitForExit } from './container-wait.js';
import { writeRunManifest } from './run-manifest.js';
import { CapacityGate } from './capacity-gate.js';
import type { CapacityLedger } from './capacity-ledger.js';
import { channelShardTar, listChannelFiles, shardFor, type ChannelFile } from './channel-shards.js';
import { clusterHosts, clusterNetworkName, createClusterNetwork } from './cluster-network.js';
import type { ChannelSpec, ReattachOptions, RunEvents, RunResult, RunStatusCode, TrainingJobSpec, TrainingRunner } from './types.js';

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
  /** The host's budget shared with the other processes on the same data folder (none: this process alone). */
  capacityLedger?: CapacityLedger;
}

/** How long the log stream may lag behind the container's exit before the run goes on without it. */
const LOG_DRAIN_MS = 10_000;

/** One instance of a run: its container and its host name. */
interface Member {
  containerId: string;
  host: string;
  /** Output attached before start (a fresh run); a re-attached run follows the engine's log instead. */
  output?: ContainerLogs;
}

type LineCounts = { stdout: number; stderr: number };

/** What one run knows once its containers exist: shared by a fresh run and a re-attached one. */
interface Supervision {
  spec: TrainingJobSpec;
  events: RunEvents;
  signal: AbortSignal;
  log: Logger;
  /** Every instance, algo-1 first: its artifacts are the run's. */
  members: Member[];
  image?: ResolvedImage;
  limits?: AppliedLimits;
  startedAt: Date;
  /** Milliseconds left before the deadline. */
  remainingMs: number;
  /** Lines already delivered, per host. */
  skipLines?: Record<string, LineCounts>;
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

  constructor(private readonly opts: DockerTrainingRunnerOptions) {
    this.host = opts.host ?? hostCapacity();
    this.capacity = new CapacityGate({ cpus: this.host.cpus, memoryBytes: this.host.memoryBytes }, opts.capacityLedger);
    this.resolver =
      opts.imageResolver ??
      new ImageResolver({ engine: opts.engine, pullPolicy: opts.settings.pullPolicy, registryAuth: opts.registryAuth, logger: opts.logger });
  }

  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    const { engine, settings } = this.opts;
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn });
    const startedAt = new Date();
    const hosts = clusterHosts(spec.instanceCount);
    const host = hosts[0]!;
    const cluster = hosts.length > 1;
    let limits: AppliedLimits | undefined;
    let image: ResolvedImage | undefined;
    const early = async (statusCode: RunStatusCode, message: string, cause?: unknown) => {
      const result = finish(startedAt, { succeeded: false, statusCode, message, cancelled: statusCode === 'CANCELLED', imageDigest: image?.digest, limits, cause });
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
      // The whole cluster at once: N times the instance type's limits (an idle host still takes any run).
      release = await this.capacity.acquire({ cpus: limits.vcpus * hosts.length, memoryBytes: limits.memoryBytes * hosts.length }, signal);
    } catch {
      return await early('CANCELLED', 'The trained model was cancelled before it started.');
    }
    const members: Member[] = [];
    const feeders: PipeFeeder[] = [];
    let network: string | undefined;
    try {
      log.info({ limits, instanceCount: hosts.length }, 'limits applied');
      if (limits.scaledDown) {
        log.warn({ limits }, limits.scaledDown);
        runnerLine(events, host, limits.scaledDown);
      }
      const delivery = channelDelivery(spec.channels, engine, hosts.length, spec.trainingInputMode);
      try {
        image = await this.resolver.resolve(spec.imageUri, (p) => {
          log.info({ pull: p }, 'pull progress');
          events.onPullProgress?.(p);
        });
      } catch (e) {
        if (e instanceof ImagePullError) return await early('IMAGE_PULL_FAILED', e.message, e);
        throw e;
      }
      if (signal.aborted) return await early('CANCELLED', 'The trained model was cancelled before it started.');

      const shares = new Map<string, ChannelFile[]>();
      for (const c of [...delivery.streamed, ...delivery.piped]) shares.set(c.channelName, await listChannelFiles(c.hostPath));
      const shareOf = (c: ChannelSpec, i: number) => {
        const all = shares.get(c.channelName) ?? [];
        return c.s3DataDistributionType === 'ShardedByS3Key' ? shardFor(all, i, hosts.length) : all;
      };
      if (cluster) {
        const created = await createClusterNetwork(engine, spec);
        network = created.name;
        log.info({ network, hosts }, 'cluster network created');
        if (created.warning) runnerLine(events, host, created.warning);
        runnerLine(events, host, `instanceCount ${hosts.length}: hosts ${hosts.join(', ')} on an internal network of their own (${network}).`);
      }
      // Say how the data reaches the containers whenever it is not the plain single-instance bind mount.
      if (cluster || delivery.streamed.length > 0 || delivery.piped.length > 0) {
        for (const line of channelLines(delivery, shares, hosts)) runnerLine(events, host, line);
      }

      for (const [i, h] of hosts.entries()) {
        const files = configFiles(spec, h, hosts);
        let pipeMount: ChannelBindMount[] = [];
        if (delivery.piped.length > 0) {
          // Pipe mode: this host's FIFOs live in a folder of their own, mounted as /opt/ml/input/data.
          const dir = join(pipesFolder(spec), h);
          const feeder = new PipeFeeder({
            dir,
            channels: delivery.piped.map((c) => ({ channelName: c.channelName, files: shareOf(c, i) })),
            mountPoints: delivery.mounts.map((m) => m.channelName),
            log: log.child({ host: h }),
          });
          feeders.push(feeder);
          await feeder.prepare();
          pipeMount = [{ channelName: '', hostPath: dir, containerPath: CHANNELS_ROOT, readOnly: true }];
        }
        const containerId = await engine.createContainer(
          trainingContainerSpec({
            spec, host: h, hosts, limits,
            mounts: [...pipeMount, ...delivery.mounts],
            imageId: image.imageId,
            hardening: settings.hardening,
            configFiles: files,
            // A single instance trains with no network at all (contract §5), unless a setting says otherwise.
            networkMode: network ?? settings.hardening.singleInstanceNetwork,
          }),
        );
        members.push({ containerId, host: h });
        log.debug({ containerId, host: h }, 'container created');
        // The writable /opt/ml areas live in the container, never in host folders; config files are read-only.
        await engine.putArchive(containerId, '/', optMlSkeleton(files, { dataFolderMounted: pipeMount.length > 0 }));
        for (const c of delivery.streamed) await engine.putArchive(containerId, '/', channelShardTar(c.channelName, shareOf(c, i)));
      }
      // Attached before start, so nothing is missed: the raw stream, as `docker run` reads it, is much faster
      // than following the engine's log file (which stays there for a process that has to re-attach).
      for (const m of members) m.output = await engine.attachOutput(m.containerId);
      for (const m of members) await engine.startContainer(m.containerId);
      for (const f of feeders) f.start();
      await events.onStarted({ imageDigest: image.digest, containerIds: members.map((m) => m.containerId) });
      return await this.supervise({
        spec, events, signal, log, members, image, limits, startedAt,
        remainingMs: spec.maxRuntimeInSeconds * 1000,
      });
    } catch (e) {
      if (e instanceof ChannelMountError) return await early('INTERNAL_ERROR', e.message, e);
      if (e instanceof ArtifactPackagingError || e instanceof EngineError) return await early('INTERNAL_ERROR', runnerFailure(engine, e), e);
      log.error({ err: e }, 'run failed on the runner side');
      return await early('INTERNAL_ERROR', `cleanrooms-ml-local failed to run the container: ${(e as Error).message}`, e);
    } finally {
      release();
      for (const m of members) await this.remove(m.containerId, log);
      for (const f of feeders) await f.close();
      if (feeders.length > 0) await rm(pipesFolder(spec), { recursive: true, force: true });
      if (network) await this.removeNetwork(network, log);
    }
  }

  async reattach(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal, options: ClusterReattachOptions): Promise<RunResult | undefined> {
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn, reattached: true });
    // Another version of the same trained model may be running too: only this version's containers are ours.
    const found = (await this.opts.engine.listContainers(`${LABEL_TRAINED_MODEL}=${spec.trainedModelArn}`)).filter(
      (c) => (c.labels[LABEL_VERSION] ?? '') === (spec.versionIdentifier ?? ''),
    );
    if (found.length === 0) return undefined;
    const members = found
      .map((c) => ({ containerId: c.id, host: c.labels[LABEL_HOST] ?? 'algo-1' }))
      .sort((a, b) => hostNumber(a.host) - hostNumber(b.host));
    try {
      let limits: AppliedLimits | undefined;
      try {
        limits = limitsFor(spec.instanceType, this.host, false);
      } catch {
        limits = undefined;
      }
      log.info({ containers: found.map((c) => ({ id: c.id, running: c.running })) }, 're-attaching to a run a previous process started');
      const cannotTakeOver = async (message: string) => {
        const result = finish(options.startedAt, { succeeded: false, statusCode: 'INTERNAL_ERROR', message });
        await this.manifest(spec, result, { limits, containerIds: members.map((m) => m.containerId) }, log);
        return result;
      };
      if (existsSync(pipesFolder(spec))) {
        // The FIFOs' writer died with that process: the algorithm saw its stream end early, and no one can
        // resume it where it stopped. Better a clear failure than a model trained on part of the data.
        return await cannotTakeOver(
          'cleanrooms-ml-local stopped while it streamed the Pipe-mode channels; a FIFO cannot be resumed, so the run cannot be taken over.',
        );
      }
      if (members.length < spec.instanceCount) {
        // The previous process died while it created the cluster: some instances never existed.
        return await cannotTakeOver(
          `cleanrooms-ml-local stopped while it created the run's ${spec.instanceCount} containers; only ${members.length} exist.`,
        );
      }
      // One instance: the store's per-stream totals are its own. A cluster needs per-host counts; without them
      // every host's log is replayed whole (duplicates rather than lost lines).
      const skipLines = options.skipLinesByHost ?? (members.length === 1 ? { [members[0]!.host]: options.skipLines } : undefined);
      if (!skipLines) log.warn('re-attached cluster without per-host line counts: its logs are replayed from the start');
      return await this.supervise({
        spec, events, signal, log, limits, members,
        startedAt: options.startedAt,
        remainingMs: options.startedAt.getTime() + spec.maxRuntimeInSeconds * 1000 - Date.now(),
        skipLines,
      });
    } finally {
      for (const c of found) await this.remove(c.id, log);
      await rm(pipesFolder(spec), { recursive: true, force: true });
      if (spec.instanceCount > 1 || found.length > 1) await this.removeNetwork(clusterNetworkName(spec.trainedModelArn, spec.versionIdentifier), log);
    }
  }

  async removeContainers(label: string, stray: (labels: Record<string, string>) => boolean): Promise<number> {
    let removed = 0;
    const networks = new Set<string>();
    for (const c of await this.opts.engine.listContainers(label)) {
      if (!stray(c.labels)) continue;
      await this.remove(c.id, this.opts.logger);
      removed += 1;
      const arn = c.labels[LABEL_TRAINED_MODEL];
      if (arn && c.labels[LABEL_HOST] && c.labels[LABEL_HOST] !== 'algo-1') networks.add(clusterNetworkName(arn, c.labels[LABEL_VERSION]));
    }
    // A stray cluster's network goes with its containers.
    for (const name of networks) await this.removeNetwork(name, this.opts.logger);
    return removed;
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

    const killAll = async (signal: StopSignal, except?: Member) => {
      await Promise.all(members.filter((m) => m !== except).map((m) => engine.killContainer(m.containerId, signal)));
    };
    const stopper = new StopController({ kill: (signal) => killAll(signal), gracePeriodMs: settings.stopGracePeriodMs, logger: log });
    stopper.armDeadline(s.remainingMs);
    stopper.watchSignal(s.signal);
    stopper.watchVolume(() => volumeOverage(engine, members, spec.volumeSizeInGB), settings.volumeCheckIntervalMs);

    // The first instance to fail fails the run: the others get SIGTERM, then SIGKILL after the grace period.
    let failed: Member | undefined;
    const peerTimers: NodeJS.Timeout[] = [];
    const stopPeers = (m: Member, code: number) => {
      log.info({ host: m.host, exitCode: code }, 'an instance failed: stopping the others');
      runnerLine(s.events, m.host, `${m.host} exited with code ${code}: stopping the other instances.`);
      const warn = (e: unknown) => log.warn({ err: e }, 'stopping the other instances failed');
      void killAll('SIGTERM', m).catch(warn);
      peerTimers.push(setTimeout(() => void killAll('SIGKILL', m).catch(warn), settings.stopGracePeriodMs));
    };
    const exitCodes = new Map<Member, number>();
    try {
      await Promise.all(
        members.map((m) =>
          waitForExit(engine, m.containerId, log).then((code) => {
            exitCodes.set(m, code);
            if (code !== 0 && !failed && !stopper.reason) {
              failed = m;
              if (cluster) stopPeers(m, code);
            }
          }),
        ),
      );
    } finally {
      stopper.dispose();
      peerTimers.forEach(clearTimeout);
    }
    // What the job wrote after the last live check counts too, before anything is packaged.
    if (!stopper.reason) stopper.record('volume', await volumeOverage(engine, members, spec.volumeSizeInGB));
    const drained = await Promise.race([logsDone.then(() => true), delay(LOG_DRAIN_MS).then(() => false)]);
    if (!drained) log.warn('the log stream did not end with the containers; going on without their last lines');

    // The instance that decides the outcome: the first to fail, else algo-1.
    const decisive = failed ?? members[0]!;
    const exitCode = exitCodes.get(decisive) ?? 0;
    // Independent reads of the ended containers, at once.
    const [state, artifacts, failureText] = await Promise.all([
      engine.inspectContainer(decisive.containerId),
      packageArtifacts(engine, members[0]!.containerId, spec.artifactsDir, (note) => runnerLine(s.events, members[0]!.host, note)),
      exitCode !== 0 ? readFailureFile(engine, decisive.containerId, FAILURE_MESSAGE_CHARS) : Promise.resolve(undefined),
    ]);
    const outcome: Outcome = classifyExit({
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
      outcome.message = [...`Instance ${failed.host} failed: ${outcome.message ?? ''}`].slice(0, FAILURE_MESSAGE_CHARS).join('');
    }
    const result = finish(s.startedAt, {
      ...outcome,
      ...artifacts,
      exitCode,
      imageDigest: s.image?.digest,
      limits: s.limits,
      timedOut: stopper.reason === 'deadline',
      cancelled: stopper.reason === 'cancel',
    });
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

  private async removeNetwork(network: string, log: Logger): Promise<void> {
    await this.opts.engine.removeNetwork(network).catch((e: unknown) => log.error({ err: e, network }, 'could not remove the cluster network'));
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

/** algo-3 → 3, for ordering a cluster's containers. */
function hostNumber(host: string): number {
  return Number(/(\d+)$/.exec(host)?.[1] ?? Number.MAX_SAFE_INTEGER);
}

/** What the run's log says about each channel of a cluster: streamed (with each host's share) or mounted. */
/** "algo-1 4, algo-2 3, …": how many of a sharded channel's files each host gets. */
function sharesPerHost(all: readonly ChannelFile[], hosts: string[]): string {
  return hosts.map((h, i) => `${h} ${shardFor(all, i, hosts.length).length}`).join(', ');
}

/** Where a run's FIFOs live on this machine, a folder per host; removed when the run ends. */
function pipesFolder(spec: TrainingJobSpec): string {
  return join(spec.artifactsDir, '.pipes');
}

function channelLines(delivery: ChannelDelivery, shares: Map<string, ChannelFile[]>, hosts: string[]): string[] {
  const lines = delivery.streamed.map((c) => {
    const all = shares.get(c.channelName) ?? [];
    if (c.s3DataDistributionType !== 'ShardedByS3Key' || hosts.length === 1) {
      return `Channel '${c.channelName}' (${c.s3DataDistributionType}): streamed into the container${hosts.length > 1 ? 's' : ''}, all ${all.length} files (the engine cannot see this machine's folders).`;
    }
    return `Channel '${c.channelName}' (ShardedByS3Key): streamed, a share of its ${all.length} files per host (${sharesPerHost(all, hosts)}).`;
  });

  for (const c of delivery.piped) {
    const all = shares.get(c.channelName) ?? [];
    const bytes = all.reduce((sum, f) => sum + f.size, 0);
    const share =
      c.s3DataDistributionType === 'ShardedByS3Key' && hosts.length > 1
        ? `a share of its ${all.length} files per host (${sharesPerHost(all, hosts)})`
        : `its ${all.length} files (${bytes} bytes)`;
    lines.push(`Channel '${c.channelName}' (Pipe mode): the FIFO ${CHANNELS_ROOT}/${c.channelName}_0 streams ${share}, again as ${c.channelName}_1, _2 … for each further epoch.`);
  }
  for (const m of delivery.mounts) lines.push(`Channel '${m.channelName}' (FullyReplicated): mounted read-only, every file on every host.`);
  return lines;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
