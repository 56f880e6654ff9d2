import type { TrainedModelArtifactMaxSize } from '../api/generated/types.js';

/**
 * `privacyConfiguration.policies.trainedModels.maxArtifactSize`: the model says the limit applies to the
 * total size of all artifacts a training job produces. Locally that is the bytes of everything packaged
 * (model.tar.gz and output.tar.gz together), and a GB is 1024³ bytes, as for volumeSizeInGB **(decided)**.
 */

const BYTES_PER_UNIT: Record<TrainedModelArtifactMaxSize['unit'], number> = { GB: 1024 ** 3 };

/** The limit in bytes, or undefined when the policy sets none. */
export function maxArtifactBytes(policy: TrainedModelArtifactMaxSize | undefined): number | undefined {
  if (!policy) return undefined;
  const perUnit = BYTES_PER_UNIT[policy.unit];
  if (perUnit === undefined) throw new RangeError(`unknown maxArtifactSize unit: ${String(policy.unit)}`);
  return Math.floor(policy.value * perUnit);
}

/** Undefined when `bytes` of artifacts are within the policy; otherwise the message the run fails with. */
export function checkArtifactSize(bytes: number, policy: TrainedModelArtifactMaxSize | undefined): string | undefined {
  const limit = maxArtifactBytes(policy);
  if (limit === undefined || bytes <= limit) return undefined;
  return (
    `The trained model's artifacts are ${formatGB(bytes)} GB (${bytes} bytes), more than the association's ` +
    `privacyConfiguration.policies.trainedModels.maxArtifactSize of ${policy!.value} ${policy!.unit} (${limit} bytes).`
  );
}

function formatGB(bytes: number): string {
  const gb = bytes / 1024 ** 3;
  return gb >= 0.01 ? gb.toFixed(2) : gb.toPrecision(2);
}
