import type { Logger } from 'pino';
import type { Settings } from '../../settings.js';
import { CHANNELS_ROOT, channelDelivery, channelInputMode } from '../../channels/channel-mounts.js';
import { channelContentHashes } from '../../channels/channel-content-hash.js';
import type { StopSignal } from '../container-engine.js';
import { ImagePullError, ImageResolver, type RegistryAuthProvider, type ResolvedImage } from '../image-resolver.js';
import { InsufficientCapacityError, limitsFor, type AppliedLimits } from '../resource-limits.js';
import { configFiles } from '../training-environment.js';
import { optMlSkeleton } from '../opt-ml-skeleton.js';
import { LABEL_HOST, LABEL_TRAINED_MODEL, LABEL_VERSION } from '../container-config.js';
import { drainLogs, LOG_DRAIN_MS, LogFollower } from '../log-follower.js';
import { StopController } from '../stop-controller.js';
import { classifyExit, FAILURE_MESSAGE_CHARS, runEnded, runFailed, type Outcome } from '../run-outcome.js';
import { packageArtifacts, readFailureFile } from '../artifact-packager.js';
import { artifactSizeFailure } from '../artifact-size.js';
import { runnerFailure } from '../runner-failure.js';
import { waitForExit } from '../container-wait.js';
import type { writeRunManifest } from '../run-manifest.js';
import { CANCELLED_BEFORE_START, EndedEarly, endRunEarly, writeRunManifestLogged } from '../ended-early.js';
import { channelShardTar, listChannelFiles, shardFor, type ChannelFile } from '../channel-shards.js';
import { clusterHosts } from '../cluster-network.js';
import { channelLines, peerFailedLine, runnerLine } from '../run-narration.js';
import type { ReattachOptions, RunEvents, RunKey, RunResult, TrainingJobSpec, TrainingRunner } from '../types.js';
import { createNodeVolume, SwarmPlacementError, TERMINAL_TASK_STATES, type SwarmCluster, type SwarmNode, type SwarmTask } from './swarm-cluster.js';
import { hostLabels, hostObjects, LABEL_SWARM_ROLE, notAppliedLine, swarmRunName, trainingServiceSpec } from './swarm-service-spec.js';
import { removeSwarmObjects, SwarmRun, type SwarmMember } from './swarm-run.js';
import { swarmVolumeOverage } from './swarm-volume-check.js';

const LABEL_STORE = 'crml.store';

export interface SwarmTrainingRunnerOptions {
  cluster: SwarmCluster;
  logger: Logger;
  settings: Settings;
  registryAuth?: RegistryAuthProvider;
  /** How often task states are polled while the run's tasks are being placed. */
  pollIntervalMs?: number;
}

type LineCounts = { stdout: number; stderr: number };

/**
 * What swarmkit says when a task is placed before the run's new overlay network is allocated on its node (seen in
 * the lab); such a task never ran, and the same service created again is placed fine.
 */
const TRANSIENT_NETWORK_REFUSAL = /missing network attachments|failed to find a load balancer IP/i;
const SERVICE_RETRIES = 2;

interface RunContext {
  spec: TrainingJobSpec;
  events: RunEvents;
  signal: AbortSignal;
  log: Logger;
  startedAt: Date;
  limits?: AppliedLimits;
  image?: ResolvedImage;
  nodes?: SwarmNode[];
}

interface PreparedRun extends RunContext {
  hosts: string[];
  limits: AppliedLimits;
  image: ResolvedImage;
  nodes: SwarmNode[];
  /** The node each host is placed on, algo-1 first. */
  placement: SwarmNode[];
}

/**
 * The Swarm placement of a run, behind the same TrainingRunner interface as DockerTrainingRunner: per host
 * algo-i a replicated-job service pinned to a node, on an internal overlay network of the run's own. Swarm has
 * no API for files, so each host's /opt/ml and channels are node volumes, filled through the node's engine
 * (the archive API on a created, never started, holder container that mounts them) before the service exists,
 * and algo-1's model and output are read back from its holder the same way. Logs, exits and signals go through
 * the task containers on their nodes' engines, so the single-engine pieces (log follower, stop controller, exit
 * classification, packaging) apply unchanged. Everything is removed by its labels, on every node, after any outcome.
 */
export class SwarmTrainingRunner implements TrainingRunner {
  private readonly pollMs: number;

  constructor(private readonly opts: SwarmTrainingRunnerOptions) {
    this.pollMs = opts.pollIntervalMs ?? 250;
  }

  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    const ctx: RunContext = { spec, events, signal, log: this.opts.logger.child({ trainedModelArn: spec.trainedModelArn, placement: 'swarm' }), startedAt: new Date() };
    try {
      const prepared = await this.prepare(ctx);
      await using run = new SwarmRun(this.opts.cluster, prepared.nodes, spec, ctx.log);
      await this.provision(prepared, run);
      await this.start(prepared, run);
      return await this.supervise({ ...prepared, members: run.members, remainingMs: spec.maxRuntimeInSeconds * 1000 });
    } catch (e) {
      return await this.endEarly(ctx, e);
    }
  }

  async reattach(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal, options: ReattachOptions): Promise<RunResult | undefined> {
    const { cluster } = this.opts;
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn, placement: 'swarm', reattached: true });
    const version = spec.versionIdentifier ?? '';
    const services = (await cluster.listServices(`${LABEL_TRAINED_MODEL}=${spec.trainedModelArn}`)).filter((s) => (s.labels[LABEL_VERSION] ?? '') === version);
    const { nodes } = await cluster.usableNodes();
    // Holders exist from the first moment of provisioning: a run with none of them has nothing to take over.
    const holders = (
      await Promise.all(
        nodes.map(async (node) =>
          (await node.engine.listContainers(`${LABEL_TRAINED_MODEL}=${spec.trainedModelArn}`).catch(() => []))
            .filter((c) => (c.labels[LABEL_VERSION] ?? '') === version && c.labels[LABEL_SWARM_ROLE] === 'holder')
            .map((c) => ({ node, id: c.id, host: c.labels[LABEL_HOST] ?? 'algo-1' })),
        ),
      )
    ).flat();
    if (services.length === 0 && holders.length === 0) return undefined;
    await using run = new SwarmRun(cluster, nodes, spec, log);
    let limits: AppliedLimits | undefined;
    try {
      limits = limitsFor(spec.instanceType, smallest(nodes), false);
    } catch {
      limits = undefined;
    }
    const cannotTakeOver = async (message: string) => {
      const result = runFailed(options.startedAt, 'INTERNAL_ERROR', message, { limits });
      await this.manifest(spec, result, { limits }, log);
      return result;
    };
    const hosts = clusterHosts(spec.instanceCount);
    if (services.length < hosts.length || holders.length < hosts.length) {
      return await cannotTakeOver(`cleanrooms-ml-local stopped while it created the run's ${hosts.length} Swarm services; only ${services.length} exist.`);
    }
    const tasks = await cluster.tasksOf(services.map((s) => s.id));
    for (const h of hosts) {
      const service = services.find((s) => s.labels[LABEL_HOST] === h);
      const holder = holders.find((x) => x.host === h);
      const task = tasks.find((t) => t.ServiceID === service?.id && t.Status.ContainerStatus?.ContainerID);
      if (!service || !holder || !task) return await cannotTakeOver(`cleanrooms-ml-local stopped before Swarm started ${h}; the run cannot be taken over.`);
      run.members.push({ host: h, node: holder.node, serviceId: service.id, containerId: task.Status.ContainerStatus!.ContainerID!, holderId: holder.id });
    }
    log.info({ members: run.members.map((m) => ({ host: m.host, node: m.node.hostname })) }, 're-attaching to a Swarm run a previous process started');
    const skipLines = options.skipLinesByHost ?? (run.members.length === 1 ? { [run.members[0]!.host]: options.skipLines } : undefined);
    return await this.supervise({
      spec, events, signal, log, limits, nodes,
      members: run.members,
      startedAt: options.startedAt,
      remainingMs: options.startedAt.getTime() + spec.maxRuntimeInSeconds * 1000 - Date.now(),
      skipLines,
    });
  }

  async removeStrayRuns(storeId: string, keep: (run: RunKey) => boolean): Promise<number> {
    const { nodes } = await this.opts.cluster.usableNodes();
    return removeSwarmObjects(
      this.opts.cluster,
      nodes,
      `${LABEL_STORE}=${storeId}`,
      (labels) => {
        const trainedModelArn = labels[LABEL_TRAINED_MODEL];
        return !trainedModelArn || !keep({ trainedModelArn, versionIdentifier: labels[LABEL_VERSION] ?? '' });
      },
      this.opts.logger,
    );
  }

  /** The nodes, limits, channel checks and image: nothing on the swarm yet. */
  private async prepare(ctx: RunContext): Promise<PreparedRun> {
    const { spec, events, signal, log } = ctx;
    const hosts = clusterHosts(spec.instanceCount);
    if (spec.channels.some((c) => channelInputMode(c, spec.trainingInputMode) === 'Pipe')) {
      throw new EndedEarly(
        'INTERNAL_ERROR',
        "trainingInputMode Pipe is not offered on a Docker Swarm (CRML_ENGINE=swarm): its FIFOs are fed from this machine, which a Swarm node's container cannot read. Use File or FastFile, or CRML_ENGINE=docker.",
      );
    }
    let nodes: SwarmNode[];
    let skipped: string[];
    try {
      ({ nodes, skipped } = await this.opts.cluster.usableNodes());
    } catch (e) {
      if (e instanceof SwarmPlacementError) throw new EndedEarly('INTERNAL_ERROR', e.message, { cause: e });
      throw new EndedEarly('INTERNAL_ERROR', runnerFailure(this.opts.cluster, e as Error), { cause: e });
    }
    ctx.nodes = nodes;
    if (nodes.length === 0) {
      throw new EndedEarly(
        'INTERNAL_ERROR',
        `No node of the swarm at ${this.opts.cluster.endpoint} can take the run: ${skipped.join('; ') || 'it has no nodes'}. Label each node with crml.engine=<its engine's address> (docker node update --label-add).`,
      );
    }
    let limits: AppliedLimits;
    try {
      limits = ctx.limits = limitsFor(spec.instanceType, smallest(nodes), this.opts.settings.strictResources);
    } catch (e) {
      if (e instanceof InsufficientCapacityError) throw new EndedEarly('INTERNAL_ERROR', e.message.replace('This host is', 'The smallest node of the swarm is'), { cause: e });
      throw e;
    }
    if (limits.scaledDown) runnerLine(events, hosts[0]!, limits.scaledDown.replace('This host is', 'The smallest node of the swarm is'));
    // Names, paths and what may be given to a container, as on one engine; every channel is streamed in.
    channelDelivery(spec.channels, { sharesHostFilesystem: false, endpoint: this.opts.cluster.endpoint }, hosts.length, spec.trainingInputMode);
    // Round robin over the nodes, in hostname order: with as many nodes as hosts, each host on a node of its own.
    const placement = hosts.map((_, i) => nodes[i % nodes.length]!);
    const image = (ctx.image = await this.resolveImage(ctx, placement));
    if (signal.aborted) throw new EndedEarly('CANCELLED', CANCELLED_BEFORE_START);
    log.info({ limits, placement: placement.map((n) => n.hostname) }, 'swarm placement decided');
    return { ...ctx, hosts, limits, image, nodes, placement };
  }

  /** The image on every node the run uses, the same image everywhere (services are given its id). */
  private async resolveImage({ spec, events, log }: RunContext, placement: SwarmNode[]): Promise<ResolvedImage> {
    let first: ResolvedImage | undefined;
    for (const node of new Set(placement)) {
      const resolver = new ImageResolver({ engine: node.engine, pullPolicy: this.opts.settings.pullPolicy, registryAuth: this.opts.registryAuth, logger: log });
      let image: ResolvedImage;
      try {
        image = await resolver.resolve(spec.imageUri, (p) => events.onPullProgress?.(p));
      } catch (e) {
        if (e instanceof ImagePullError) throw new EndedEarly('IMAGE_PULL_FAILED', `On swarm node ${node.hostname}: ${e.message}`, { cause: e });
        throw e;
      }
      if (first && image.imageId !== first.imageId) {
        throw new EndedEarly(
          'IMAGE_PULL_FAILED',
          `${spec.imageUri} is a different image on swarm node ${node.hostname} (${image.imageId}) than on ${placement[0]!.hostname} (${first.imageId}); give the image by digest, or load the same image on every node.`,
        );
      }
      first ??= image;
    }
    return first!;
  }

  /** The network; per host its volumes filled through a holder, its config files and its service. */
  private async provision(p: PreparedRun, run: SwarmRun): Promise<void> {
    const { cluster, settings } = this.opts;
    const { spec, events, log, hosts, limits, image, placement } = p;
    const runName = swarmRunName(spec.trainedModelArn, spec.versionIdentifier);
    const shares = new Map<string, ChannelFile[]>();
    for (const c of spec.channels) shares.set(c.channelName, await listChannelFiles(c.hostPath));
    const shareOf = (channelName: string, sharded: boolean, i: number) => {
      const all = shares.get(channelName) ?? [];
      return sharded ? shardFor(all, i, hosts.length) : all;
    };
    const first = hosts[0]!;
    runnerLine(
      events,
      first,
      `instanceCount ${hosts.length} on the Docker Swarm at ${cluster.endpoint}: ${hosts.map((h, i) => `${h} on node ${placement[i]!.hostname}`).join(', ')}, on an internal overlay network of their own (${runName}).`,
    );
    runnerLine(events, first, notAppliedLine(settings.hardening, limits));
    for (const line of channelLines({ mounts: [], streamed: spec.channels, piped: [] }, shares, hosts)) {
      runnerLine(events, first, line.replace("(the engine cannot see this machine's folders)", '(into a volume on its node)'));
    }
    const networkId = await cluster.createOverlayNetwork(runName, hostLabels(spec, first));
    log.info({ network: runName }, 'overlay network created');

    const services: Record<string, unknown>[] = [];
    for (const [i, host] of hosts.entries()) {
      const node = placement[i]!;
      const objects = hostObjects(runName, host);
      const labels = hostLabels(spec, host);
      await createNodeVolume(node, objects.mlVolume, labels);
      await createNodeVolume(node, objects.dataVolume, labels);
      // The holder mounts the host's volumes; created from the training image, so /opt/ml starts with what the
      // image has there (the engine copies it into the empty volume), as on one engine.
      const holderId = await node.engine.createContainer({
        image: image.imageId,
        hostname: host,
        cmd: ['true'],
        env: {},
        labels: hostLabels(spec, host, 'holder'),
        binds: [
          { hostPath: objects.mlVolume, containerPath: '/opt/ml', readOnly: false },
          { hostPath: objects.dataVolume, containerPath: CHANNELS_ROOT, readOnly: false },
        ],
        networkMode: 'none',
        nanoCpus: 0,
        memoryBytes: 0,
        shmSizeBytes: 64 * 1024 ** 2,
        pidsLimit: 1,
        capDrop: ['ALL'],
        capAdd: [],
        securityOpt: ['no-new-privileges'],
        gpus: 0,
      });
      const files = configFiles(spec, host, hosts);
      await node.engine.putArchive(holderId, '/', optMlSkeleton(files, { dataFolderMounted: true }));
      for (const c of spec.channels) {
        await node.engine.putArchive(holderId, '/', channelShardTar(c.channelName, shareOf(c.channelName, c.s3DataDistributionType === 'ShardedByS3Key' && hosts.length > 1, i)));
      }
      const configs: Record<string, { id: string; name: string }> = {};
      for (const [file, content] of Object.entries(files)) {
        const name = objects.config(file);
        configs[file] = { id: await cluster.createConfig(name, content, labels), name };
      }
      services.push(
        trainingServiceSpec({
          spec, host, hosts, imageId: image.imageId, limits,
          hardening: settings.hardening,
          stopGracePeriodMs: settings.stopGracePeriodMs,
          nodeId: node.id, networkId, objects, configs, configFiles: files,
        }),
      );
      run.members.push({ host, node, containerId: '', holderId });
    }
    if (p.signal.aborted) throw new EndedEarly('CANCELLED', CANCELLED_BEFORE_START);
    // Every host's data is in place before any service exists, so the hosts start together.
    for (const [i, s] of services.entries()) {
      run.members[i]!.serviceSpec = s;
      run.members[i]!.serviceId = await cluster.createService(s);
    }
  }

  /**
   * Waits until Swarm has started every host's task (there is no gang scheduling: a host that cannot be placed
   * leaves the others waiting), then tells the caller the run is in progress. A task Swarm refuses, or one not
   * started within the placement timeout, fails the run naming that host and Swarm's reason.
   */
  private async start(p: PreparedRun, run: SwarmRun): Promise<void> {
    const { cluster, settings } = this.opts;
    const until = Date.now() + settings.swarmPlacementTimeoutMs;
    const byService = new Map(run.members.map((m) => [m.serviceId!, m]));
    const retries = new Map<SwarmMember, number>();
    let last: SwarmTask[] = [];
    for (;;) {
      if (p.signal.aborted) throw new EndedEarly('CANCELLED', CANCELLED_BEFORE_START);
      last = await cluster.tasksOf([...byService.keys()]);
      for (const t of last) {
        const m = byService.get(t.ServiceID);
        if (!m || m.containerId || m.serviceId !== t.ServiceID) continue;
        const id = t.Status.ContainerStatus?.ContainerID;
        const state = t.Status.State;
        const why = t.Status.Err ?? t.Status.Message ?? state;
        if (TERMINAL_TASK_STATES.has(state) && TRANSIENT_NETWORK_REFUSAL.test(why) && (retries.get(m) ?? 0) < SERVICE_RETRIES) {
          // The run's network was not yet ready on that node when its task was placed: the same service again.
          retries.set(m, (retries.get(m) ?? 0) + 1);
          p.log.warn({ host: m.host, node: m.node.hostname, why }, 'Swarm refused the task for a network reason: creating its service again');
          await cluster.removeService(m.serviceId!);
          await delay(this.pollMs * 4);
          m.serviceId = await cluster.createService(m.serviceSpec!);
          byService.set(m.serviceId, m);
          continue;
        }
        if (id && (state === 'running' || TERMINAL_TASK_STATES.has(state))) m.containerId = id;
        else if (TERMINAL_TASK_STATES.has(state)) {
          throw new EndedEarly('INTERNAL_ERROR', `Swarm could not start ${m.host} on node ${m.node.hostname}: ${why}.`);
        }
      }
      if (run.members.every((m) => m.containerId)) break;
      if (Date.now() > until) {
        const waiting = run.members.filter((m) => !m.containerId).map((m) => {
          const t = last.find((x) => x.ServiceID === m.serviceId);
          const why = t ? `${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : t.Status.Message ? `: ${t.Status.Message}` : ''}` : 'no task yet';
          return `${m.host} on node ${m.node.hostname} (${why})`;
        });
        throw new EndedEarly(
          'INTERNAL_ERROR',
          `Swarm did not start every instance within ${settings.swarmPlacementTimeoutMs / 1000} seconds (CRML_SWARM_PLACEMENT_TIMEOUT_SECONDS); still waiting: ${waiting.join('; ')}.`,
        );
      }
      await delay(this.pollMs);
    }
    await p.events.onStarted({ imageDigest: p.image.digest, containerIds: run.members.map((m) => m.containerId) });
  }

  private async supervise(s: RunContext & { members: SwarmMember[]; remainingMs: number; skipLines?: Record<string, LineCounts> }): Promise<RunResult> {
    const { settings } = this.opts;
    const { spec, log, members } = s;
    const cluster = members.length > 1;
    const channelHashes = channelContentHashes(spec.channels).catch((e: unknown) => {
      log.warn({ err: e }, 'could not hash the channels');
      return {};
    });
    const followers = members.map(
      (m) => new LogFollower({ events: s.events, host: m.host, metricDefinitions: spec.metricDefinitions, skipLines: s.skipLines?.[m.host] }),
    );
    // The node's engine replays each task's log from its first byte, also for a task that already ended.
    const logsDone = Promise.all(members.map((m, i) => m.node.engine.followLogs(m.containerId).then((logs) => followers[i]!.follow(logs))));

    const killAll = async (signal: StopSignal, except?: string) => {
      await Promise.all(members.filter((m) => m.host !== except).map((m) => m.node.engine.killContainer(m.containerId, signal)));
    };
    const stopper = new StopController({ kill: killAll, gracePeriodMs: settings.stopGracePeriodMs, logger: log });
    stopper.armDeadline(s.remainingMs);
    stopper.watchSignal(s.signal);
    stopper.watchVolume(() => swarmVolumeOverage(members, spec, spec.volumeSizeInGB), settings.volumeCheckIntervalMs);

    let failed: SwarmMember | undefined;
    const exitCodes = new Map<SwarmMember, number>();
    try {
      await Promise.all(
        members.map((m) =>
          waitForExit(m.node.engine, m.containerId, log).then((code) => {
            exitCodes.set(m, code);
            if (code !== 0 && !failed && !stopper.reason) {
              failed = m;
              if (cluster) {
                log.info({ host: m.host, node: m.node.hostname, exitCode: code }, 'an instance failed: stopping the others');
                runnerLine(s.events, m.host, peerFailedLine(`${m.host} (node ${m.node.hostname})`, code));
                stopper.stopOthers(m.host);
              }
            }
          }),
        ),
      );
    } finally {
      stopper.dispose();
    }
    // What the job wrote after the last live check counts too, before anything is packaged (as on one engine).
    if (!stopper.reason) {
      const over = await swarmVolumeOverage(members, spec, spec.volumeSizeInGB).catch((e: unknown) => {
        log.warn({ err: e }, 'could not measure what the job wrote on its nodes');
        return undefined;
      });
      stopper.record('volume', over);
    }
    const drained = await drainLogs(logsDone, followers, LOG_DRAIN_MS);
    if (!drained) log.warn('the log stream did not end with the tasks; going on without their last lines');

    const decisive = failed ?? members[0]!;
    const exitCode = exitCodes.get(decisive) ?? 0;
    const [state, artifacts, failureText] = await Promise.all([
      decisive.node.engine.inspectContainer(decisive.containerId),
      packageArtifacts(members[0]!.node.engine, members[0]!.holderId, spec.artifactsDir, { onDropped: (note) => runnerLine(s.events, members[0]!.host, note) }),
      exitCode !== 0 ? readFailureFile(decisive.node.engine, decisive.holderId, FAILURE_MESSAGE_CHARS) : Promise.resolve(undefined),
    ]);
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
    if (failed && !outcome.succeeded && !stopper.reason) {
      const where = `Instance ${failed.host} (swarm node ${failed.node.hostname}) failed: `;
      outcome = { ...outcome, message: [...`${where}${outcome.message}`].slice(0, FAILURE_MESSAGE_CHARS).join('') };
    }
    if (outcome.succeeded) {
      const tooLarge = await artifactSizeFailure([artifacts.modelArtifactPath, artifacts.outputArtifactPath], spec.maxArtifactBytes);
      if (tooLarge) outcome = { succeeded: false, statusCode: 'ALGORITHM_ERROR', message: tooLarge };
    }
    const result = runEnded(s.startedAt, outcome, { ...artifacts, exitCode, imageDigest: s.image?.digest, limits: s.limits, stopReason: stopper.reason });
    log.info(
      { exitCodes: Object.fromEntries(members.map((m) => [m.host, exitCodes.get(m)])), failedHost: failed?.host, stopReason: stopper.reason, statusCode: result.statusCode },
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

  private endEarly(ctx: RunContext, e: unknown): Promise<RunResult> {
    return endRunEarly(ctx, e, this.opts.cluster, 'tasks');
  }

  private manifest(spec: TrainingJobSpec, result: RunResult, extra: Parameters<typeof writeRunManifest>[2], log: Logger): Promise<void> {
    return writeRunManifestLogged(spec, result, extra, log);
  }
}

/** What every node can give one task: the smallest node's CPUs and memory (a host may land on any of them). */
function smallest(nodes: readonly SwarmNode[]): { cpus: number; memoryBytes: number; gpus: number } {
  if (nodes.length === 0) return { cpus: 1, memoryBytes: 1024 ** 3, gpus: 0 };
  return { cpus: Math.min(...nodes.map((n) => n.cpus)), memoryBytes: Math.min(...nodes.map((n) => n.memoryBytes)), gpus: 0 };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
