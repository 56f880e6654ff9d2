import type Docker from 'dockerode';
import { z } from 'zod';
import { DockerEngine } from '../docker-engine.js';
import { dockerClient } from '../engine-discovery.js';
import { EngineError } from '../container-engine.js';

/**
 * The Swarm as the placement needs it: the manager's cluster API (nodes, services, tasks, configs, overlay
 * networks) and, per node, that node's own engine (its volumes and containers: data in and out, logs, signals).
 * Swarm's API has no way to put files into a task or read them back, so the runner holds each node's engine,
 * named by the node's label `crml.engine` (the manager's own node may go without: it is DOCKER_HOST).
 */

/** The node label naming where the runner reaches that node's engine (unix://, tcp://, https://, ssh://). */
export const LABEL_NODE_ENGINE = 'crml.engine';

/** What the manager says of a node (GET /nodes), the fields we read. */
const NodeSchema = z.object({
  ID: z.string(),
  Spec: z.object({ Labels: z.record(z.string(), z.string()).nullish(), Availability: z.string().optional() }).passthrough(),
  Description: z
    .object({
      Hostname: z.string().optional(),
      Resources: z.object({ NanoCPUs: z.number().optional(), MemoryBytes: z.number().optional() }).passthrough().optional(),
    })
    .passthrough()
    .optional(),
  Status: z.object({ State: z.string().optional() }).passthrough().optional(),
}).passthrough();

/**
 * A task (GET /tasks): dockerode types it `any`. ExitCode is omitempty (absent means 0); Slot is absent for a
 * replicated job's slot 0 (distributed.md §1, infra.md).
 */
export const TaskSchema = z.object({
  ID: z.string(),
  ServiceID: z.string(),
  NodeID: z.string().optional(),
  DesiredState: z.string().optional(),
  Status: z
    .object({
      State: z.string(),
      Message: z.string().optional(),
      Err: z.string().optional(),
      ContainerStatus: z.object({ ContainerID: z.string().optional(), ExitCode: z.number().optional() }).passthrough().optional(),
    })
    .passthrough(),
}).passthrough();
export type SwarmTask = z.infer<typeof TaskSchema>;

/** Task states after which a task never runs (moby api/types/swarm/task.go). */
export const TERMINAL_TASK_STATES = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

export interface SwarmNode {
  id: string;
  hostname: string;
  /** Where its engine is, for messages. */
  endpoint: string;
  cpus: number;
  memoryBytes: number;
  /** The node's own engine: the runner's ContainerEngine port, and dockerode for its volumes. */
  engine: DockerEngine;
  docker: Docker;
}

/** The swarm could not be used: not a manager, no usable node, a node whose engine is not named. */
export class SwarmPlacementError extends Error {
  override readonly name = 'SwarmPlacementError';
}

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

function messageOf(e: unknown): string {
  const json = (e as { json?: { message?: string } } | undefined)?.json;
  return json?.message ?? (e instanceof Error ? e.message : String(e));
}

/** A call to the manager, its failure as an EngineError naming what was asked (as DockerEngine does). */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new EngineError(messageOf(e), statusOf(e), { cause: e, operation: what });
  }
}

/** 404 (already gone) is not a failure of a removal. */
async function removeQuietly(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (statusOf(e) !== 404) throw new EngineError(messageOf(e), statusOf(e), { cause: e, operation: what });
  }
}

export class SwarmCluster {
  readonly manager: Docker;
  private nodeEngines = new Map<string, { engine: DockerEngine; docker: Docker; endpoint: string }>();

  constructor(
    /** The manager's address (DOCKER_HOST). */
    readonly endpoint: string,
    private readonly env: { SSH_AUTH_SOCK?: string } = {},
  ) {
    this.manager = dockerClient(endpoint, env).docker;
  }

  /** Fails unless the engine is a manager of an active swarm; returns the manager's own node id. */
  async checkManager(): Promise<string> {
    const info = (await call('info', () => this.manager.info())) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } };
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable || !info.Swarm.NodeID) {
      throw new SwarmPlacementError(
        `CRML_ENGINE=swarm needs DOCKER_HOST to name a manager of an active Docker Swarm; the engine at ${this.endpoint} is ${info.Swarm?.LocalNodeState === 'active' ? 'a worker, not a manager' : `not in a swarm (${info.Swarm?.LocalNodeState ?? 'inactive'})`}.`,
      );
    }
    return info.Swarm.NodeID;
  }

  /**
   * The nodes a run may use: ready, availability active, with an engine the runner can reach (the label
   * crml.engine, or DOCKER_HOST for the manager's own node), sorted by hostname so placement is stable.
   */
  async usableNodes(): Promise<{ nodes: SwarmNode[]; skipped: string[] }> {
    const self = await this.checkManager();
    const raw = await call('list nodes', () => this.manager.listNodes());
    const nodes: SwarmNode[] = [];
    const skipped: string[] = [];
    for (const n of raw.map((r) => NodeSchema.parse(r))) {
      const hostname = n.Description?.Hostname ?? n.ID;
      if (n.Status?.State !== 'ready' || (n.Spec.Availability ?? 'active') !== 'active') {
        skipped.push(`${hostname} (${n.Status?.State ?? 'unknown'}, ${n.Spec.Availability ?? 'active'})`);
        continue;
      }
      const endpoint = n.Spec.Labels?.[LABEL_NODE_ENGINE] ?? (n.ID === self ? this.endpoint : undefined);
      if (!endpoint) {
        skipped.push(`${hostname} (no node label ${LABEL_NODE_ENGINE} naming its engine)`);
        continue;
      }
      const { engine, docker } = this.nodeEngine(endpoint);
      nodes.push({
        id: n.ID,
        hostname,
        endpoint,
        cpus: (n.Description?.Resources?.NanoCPUs ?? 0) / 1e9,
        memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0,
        engine,
        docker,
      });
    }
    nodes.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
    return { nodes, skipped };
  }

  /** The node's engine at `endpoint`, one client per address. */
  nodeEngine(endpoint: string): { engine: DockerEngine; docker: Docker; endpoint: string } {
    let e = this.nodeEngines.get(endpoint);
    if (!e) {
      const { docker } = dockerClient(endpoint, this.env);
      // A node's engine never sees this machine's folders: channels are always streamed in.
      e = { engine: new DockerEngine(docker, { endpoint, sharesHostFilesystem: false }), docker, endpoint };
      this.nodeEngines.set(endpoint, e);
    }
    return e;
  }

  async createOverlayNetwork(name: string, labels: Record<string, string>): Promise<string> {
    // Internal: the run's hosts reach one another and nothing else; not attachable: only the run's services join.
    const n = await call('create network', () =>
      this.manager.createNetwork({ Name: name, Driver: 'overlay', Internal: true, Attachable: false, Labels: labels, CheckDuplicate: true }),
    );
    return n.id;
  }

  async createConfig(name: string, content: string, labels: Record<string, string>): Promise<string> {
    const c = (await call('create config', () =>
      this.manager.createConfig({ Name: name, Labels: labels, Data: Buffer.from(content).toString('base64') }),
    )) as { id?: string; ID?: string };
    return (c.id ?? c.ID)!;
  }

  async createService(spec: Record<string, unknown>): Promise<string> {
    const s = (await call('create service', () => this.manager.createService(spec as Docker.CreateServiceOptions))) as { id?: string; ID?: string };
    return (s.id ?? s.ID)!;
  }

  async tasksOf(serviceIds: string[]): Promise<SwarmTask[]> {
    const raw = await call('list tasks', () => this.manager.listTasks({ filters: { service: serviceIds } }));
    return raw.map((t) => TaskSchema.parse(t));
  }

  /** Services, configs and networks carrying `label` (key=value). */
  async listServices(label: string): Promise<{ id: string; name: string; labels: Record<string, string> }[]> {
    const list = await call('list services', () => this.manager.listServices({ filters: { label: [label] } }));
    return list.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {} }));
  }

  async listConfigs(label: string): Promise<{ id: string; labels: Record<string, string> }[]> {
    const list = await call('list configs', () => this.manager.listConfigs({ filters: { label: [label] } }));
    return list.map((c) => ({ id: c.ID, labels: c.Spec?.Labels ?? {} }));
  }

  async listNetworks(label: string): Promise<{ id: string; labels: Record<string, string> }[]> {
    const list = await call('list networks', () => this.manager.listNetworks({ filters: { label: [label] } }));
    return list.map((n) => ({ id: n.Id, labels: n.Labels ?? {} }));
  }

  removeService(id: string): Promise<void> {
    return removeQuietly('remove service', () => this.manager.getService(id).remove());
  }

  removeConfig(id: string): Promise<void> {
    return removeQuietly('remove config', () => this.manager.getConfig(id).remove());
  }

  removeNetwork(id: string): Promise<void> {
    return removeQuietly('remove network', () => this.manager.getNetwork(id).remove());
  }
}

/** Volumes on one node's engine: the task's /opt/ml and its channels live there, never in a folder of the node. */
export async function createNodeVolume(node: Pick<SwarmNode, 'docker'>, name: string, labels: Record<string, string>): Promise<void> {
  await call('create volume', () => node.docker.createVolume({ Name: name, Labels: labels }));
}

export async function listNodeVolumes(node: Pick<SwarmNode, 'docker'>, label: string): Promise<{ name: string; labels: Record<string, string> }[]> {
  const r = await call('list volumes', () => node.docker.listVolumes({ filters: { label: [label] } }));
  return (r.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
}

export function removeNodeVolume(node: Pick<SwarmNode, 'docker'>, name: string): Promise<void> {
  return removeQuietly('remove volume', () => node.docker.getVolume(name).remove({ force: true }));
}

/**
 * The size in bytes of each volume on one node's engine, as it reports them (GET /system/df; `type=volume`
 * asks engines of API 1.42 and later for volumes only, older ones ignore it). A volume whose size the engine
 * did not compute (-1, or not a local volume) is absent.
 */
export async function nodeVolumeSizes(node: Pick<SwarmNode, 'docker'>): Promise<Map<string, number>> {
  const df = await call('system df', () =>
    new Promise<{ Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] | null }>((resolve, reject) =>
      node.docker.modem.dial(
        { path: '/system/df?', method: 'GET', options: { type: ['volume'] }, statusCodes: { 200: true, 500: 'server error' } },
        (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as never)),
      ),
    ),
  );
  const sizes = new Map<string, number>();
  for (const v of df.Volumes ?? []) if ((v.UsageData?.Size ?? -1) >= 0) sizes.set(v.Name, v.UsageData!.Size!);
  return sizes;
}
