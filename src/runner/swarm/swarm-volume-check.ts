import { writtenOverage } from '../volume-check.js';
import { nodeVolumeSizes } from './swarm-cluster.js';
import type { SwarmMember } from './swarm-run.js';
import { hostObjects, swarmRunName } from './swarm-service-spec.js';

/**
 * resourceConfig.volumeSizeInGB on a Swarm, the same rule and words as on one engine. A host's task writes into
 * its container's own layer and into its /opt/ml node volume (model, output, checkpoints), so what it wrote is the
 * task container's SizeRw plus that volume's size as its node's engine reports it. Its channels' volume is
 * read-only to the job and not counted. A task container already gone counts as nothing written to its layer.
 */
export function swarmVolumeOverage(
  members: readonly SwarmMember[],
  run: { trainedModelArn: string; versionIdentifier?: string },
  volumeSizeInGB: number,
): Promise<string | undefined> {
  const runName = swarmRunName(run.trainedModelArn, run.versionIdentifier);
  return writtenOverage(
    members,
    async (m) => {
      const [layer, volumes] = await Promise.all([m.node.engine.writtenBytes(m.containerId).catch(() => 0), nodeVolumeSizes(m.node)]);
      return layer + (volumes.get(hostObjects(runName, m.host).mlVolume) ?? 0);
    },
    volumeSizeInGB,
  );
}
