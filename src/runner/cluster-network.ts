import { createHash } from 'node:crypto';
import type { ContainerEngine } from './container-engine.js';
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
 * Creates the run's own internal network (no route to anything else), labelled like its containers. A network
 * of the same name left by a dead process is removed first; if containers still use it, the engine refuses and
 * the create reports why.
 */
export async function createClusterNetwork(engine: ContainerEngine, spec: TrainingJobSpec): Promise<string> {
  const name = clusterNetworkName(spec.trainedModelArn, spec.versionIdentifier);
  await engine.removeNetwork(name).catch(() => undefined);
  await engine.createNetwork({
    name,
    internal: true,
    labels: runLabels(spec),
  });
  return name;
}
