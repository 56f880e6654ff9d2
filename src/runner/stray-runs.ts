import type { Logger } from 'pino';
import { LABEL_HOST, LABEL_TRAINED_MODEL, LABEL_VERSION } from './container-config.js';
import { clusterNetworkName } from './cluster-network.js';
import type { ContainerEngine } from './container-engine.js';
import type { RunKey } from './types.js';

/**
 * Which containers belong to which store, and which of them no run needs any more: the labels stay on the
 * runner's side, the API side says only which runs (trained model and version) it keeps.
 */

const LABEL_STORE = 'crml.store';

/** The labels a run of store `storeId` carries (TrainingJobSpec.labels), so a later process can find its containers. */
export function storeLabels(storeId: string): Record<string, string> {
  return { [LABEL_STORE]: storeId };
}

/** Whether a container of the store, by its labels, is stray: it names no run, or a run `keep` does not keep. */
function isStray(labels: Record<string, string>, keep: (run: RunKey) => boolean): boolean {
  const trainedModelArn = labels[LABEL_TRAINED_MODEL];
  return !trainedModelArn || !keep({ trainedModelArn, versionIdentifier: labels[LABEL_VERSION] ?? '' });
}

/**
 * Removes the containers of store `storeId` whose run `keep` does not keep, and a stray cluster's network with
 * them (reconciliation). A failed removal is logged and the rest goes on. Returns how many containers went.
 */
export async function removeStrayRuns(engine: ContainerEngine, storeId: string, keep: (run: RunKey) => boolean, log: Logger): Promise<number> {
  let removed = 0;
  const networks = new Set<string>();
  for (const c of await engine.listContainers(`${LABEL_STORE}=${storeId}`)) {
    if (!isStray(c.labels, keep)) continue;
    await engine.removeContainer(c.id).catch((e: unknown) => log.error({ err: e, containerId: c.id }, 'could not remove container'));
    removed += 1;
    const arn = c.labels[LABEL_TRAINED_MODEL];
    if (arn && c.labels[LABEL_HOST] && c.labels[LABEL_HOST] !== 'algo-1') networks.add(clusterNetworkName(arn, c.labels[LABEL_VERSION]));
  }
  for (const network of networks) {
    await engine.removeNetwork(network).catch((e: unknown) => log.error({ err: e, network }, 'could not remove the cluster network'));
  }
  return removed;
}
