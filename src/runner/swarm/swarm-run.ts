import type { Logger } from 'pino';
import { LABEL_TRAINED_MODEL, LABEL_VERSION } from '../container-config.js';
import type { ContainerLogs } from '../container-engine.js';
import { listNodeVolumes, removeNodeVolume, TERMINAL_TASK_STATES, type SwarmCluster, type SwarmNode } from './swarm-cluster.js';

/** One host of a Swarm run: its service and task container on its node, and the holder of its volumes there. */
export interface SwarmMember {
  host: string;
  node: SwarmNode;
  serviceId?: string;
  /** The service as created, to create it again when Swarm refused its task for a passing network reason. */
  serviceSpec?: Record<string, unknown>;
  /** The task's container on the node, once Swarm started it. */
  containerId: string;
  /** The created (never started) container on the node that holds the host's volumes: data in, artifacts out. */
  holderId: string;
  output?: ContainerLogs;
}

/** Removal is retried while the engine says the object is still in use (a task container on its way out). */
const IN_USE_RETRY_MS = 250;
const IN_USE_DEADLINE_MS = 20_000;

async function untilFree(what: string, fn: () => Promise<void>, log: Logger): Promise<void> {
  const until = Date.now() + IN_USE_DEADLINE_MS;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      const inUse = status === 409 || status === 403 || /in use|active endpoints/i.test((e as Error).message);
      if (!inUse || Date.now() > until) {
        log.error({ err: e }, `could not remove ${what}`);
        return;
      }
      await new Promise((r) => setTimeout(r, IN_USE_RETRY_MS));
    }
  }
}

/**
 * Removes every object of the swarm whose labels carry `label` and that `select` picks: services first (no task
 * starts again), then on every node the task and holder containers and the volumes, then configs and the
 * network. Used for the end of every run (fresh or re-attached) and for reconciliation; failures are logged and
 * the rest goes on. Returns how many services went.
 */
export async function removeSwarmObjects(
  cluster: SwarmCluster,
  nodes: readonly SwarmNode[],
  label: string,
  select: (labels: Record<string, string>) => boolean,
  log: Logger,
): Promise<number> {
  const services = (await cluster.listServices(label).catch(logged(log, 'list services'))).filter((s) => select(s.labels));
  await Promise.all(services.map((s) => cluster.removeService(s.id).catch(logged(log, `remove service ${s.name}`))));
  const removeContainers = () =>
    Promise.all(
      nodes.map(async (node) => {
        const containers = (await node.engine.listContainers(label).catch(logged(log, `list containers on ${node.hostname}`))).filter((c) => select(c.labels));
        await Promise.all(containers.map((c) => node.engine.removeContainer(c.id).catch(logged(log, `remove container ${c.id} on ${node.hostname}`))));
      }),
    );
  await removeContainers();
  // A node's agent may still be creating a task's container when its service goes: once every task of the
  // removed services has reached a final state, nothing more appears, and a second sweep takes what did.
  if (services.length > 0) {
    await settledTasks(cluster, services.map((s) => s.id), log);
    await removeContainers();
  }
  await Promise.all(
    nodes.map(async (node) => {
      const volumes = (await listNodeVolumes(node, label).catch(logged(log, `list volumes on ${node.hostname}`))).filter((v) => select(v.labels));
      await Promise.all(volumes.map((v) => untilFree(`volume ${v.name} on ${node.hostname}`, () => removeNodeVolume(node, v.name), log)));
    }),
  );
  const configs = (await cluster.listConfigs(label).catch(logged(log, 'list configs'))).filter((c) => select(c.labels));
  await Promise.all(configs.map((c) => untilFree(`config ${c.id}`, () => cluster.removeConfig(c.id), log)));
  const networks = (await cluster.listNetworks(label).catch(logged(log, 'list networks'))).filter((n) => select(n.labels));
  await Promise.all(networks.map((n) => untilFree(`network ${n.id}`, () => cluster.removeNetwork(n.id), log)));
  // The manager deletes an overlay network once its addresses are freed, a moment after the call: the run ends
  // only when the network is gone, so no caller finds it still listed.
  const until = Date.now() + IN_USE_DEADLINE_MS;
  while (networks.length > 0 && Date.now() < until) {
    const left = await cluster.listNetworks(label).catch(logged(log, 'list networks'));
    if (!left.some((n) => networks.some((m) => m.id === n.id))) break;
    await new Promise((r) => setTimeout(r, IN_USE_RETRY_MS));
  }
  return services.length;
}

/** Waits (a bounded while) until every task of `serviceIds` is in a final state. */
async function settledTasks(cluster: SwarmCluster, serviceIds: string[], log: Logger): Promise<void> {
  const until = Date.now() + IN_USE_DEADLINE_MS;
  for (;;) {
    const tasks = await cluster.tasksOf(serviceIds).catch(logged(log, 'list tasks'));
    if (tasks.every((t) => TERMINAL_TASK_STATES.has(t.Status.State)) || Date.now() > until) return;
    await new Promise((r) => setTimeout(r, IN_USE_RETRY_MS));
  }
}

function logged(log: Logger, what: string): (e: unknown) => never[] {
  return (e) => {
    log.error({ err: e }, `could not ${what}`);
    return [];
  };
}

/** The label and selector of one run's objects: its trained model, and only its version. */
export function runSelector(trainedModelArn: string, versionIdentifier = ''): { label: string; select: (labels: Record<string, string>) => boolean } {
  return { label: `${LABEL_TRAINED_MODEL}=${trainedModelArn}`, select: (labels) => (labels[LABEL_VERSION] ?? '') === versionIdentifier };
}

/**
 * What exists on the swarm for one run. Disposing removes all of it, found by its labels on the manager and on
 * every node, so what a half-done provisioning (or a dead process) left goes the same way.
 */
export class SwarmRun implements AsyncDisposable {
  readonly members: SwarmMember[] = [];

  constructor(
    private readonly cluster: SwarmCluster,
    private readonly nodes: readonly SwarmNode[],
    private readonly key: { trainedModelArn: string; versionIdentifier?: string },
    private readonly log: Logger,
  ) {}

  async [Symbol.asyncDispose](): Promise<void> {
    const { label, select } = runSelector(this.key.trainedModelArn, this.key.versionIdentifier);
    await removeSwarmObjects(this.cluster, this.nodes, label, select, this.log);
  }
}
