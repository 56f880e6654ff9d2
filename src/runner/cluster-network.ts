import { createHash } from 'node:crypto';
import { EngineError, type ContainerEngine } from './container-engine.js';
import { runLabels } from './container-config.js';
import type { TrainingJobSpec } from './types.js';

/** algo-1 … algo-N (contract §5). */
export function clusterHosts(instanceCount: number): string[] {
  return Array.from({ length: Math.max(1, instanceCount) }, (_, i) => `algo-${i + 1}`);
}

/**
 * The network of a multi-instance run, named after its trained model ARN and version: unique per run, and a
 * later process (re-attach, reconciliation) finds it again from those alone.
 */
export function clusterNetworkName(trainedModelArn: string, versionIdentifier = ''): string {
  const run = versionIdentifier ? `${trainedModelArn}#${versionIdentifier}` : trainedModelArn;
  return `crml-cluster-${createHash('sha256').update(run).digest('hex').slice(0, 20)}`;
}

/**
 * Docker's bridge without an IPv4 address on the host: `internal` alone drops routed traffic, but the bridge's
 * gateway address is the host itself, so every host service bound to 0.0.0.0 answered the containers there.
 * With no address on the host side, the cluster's hosts reach each other (and the engine's DNS) and nothing else.
 */
export const NO_HOST_ADDRESS = { 'com.docker.network.bridge.inhibit_ipv4': 'true' };

/** What the run's log says when the engine cannot take the host's address off the network (Podman's netavark). */
export const HOST_REACHABLE_WARNING =
  "this engine refused to create the cluster network without an address on the host (Docker's com.docker.network.bridge.inhibit_ipv4); the containers may reach services of this machine at the network's gateway address.";

/**
 * Creates the run's own internal network (no route to anything else, no address on the host), labelled like its
 * containers. A network of the same name left by a dead process is removed first; if containers still use it,
 * the engine refuses and the create reports why. An engine that refuses the bridge option (netavark answers
 * "unsupported bridge network option") gets a plain internal network, and `warning` says what that leaves open.
 */
export async function createClusterNetwork(engine: ContainerEngine, spec: TrainingJobSpec): Promise<{ name: string; warning?: string }> {
  const name = clusterNetworkName(spec.trainedModelArn, spec.versionIdentifier);
  await engine.removeNetwork(name).catch(() => undefined);
  const base = { name, internal: true, labels: runLabels(spec) };
  try {
    await engine.createNetwork({ ...base, driverOptions: NO_HOST_ADDRESS });
    return { name };
  } catch (e) {
    if (!(e instanceof EngineError) || !/unsupported .*option/i.test(e.message)) throw e;
    await engine.createNetwork(base);
    return { name, warning: HOST_REACHABLE_WARNING };
  }
}
