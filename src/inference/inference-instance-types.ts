import type { InferenceInstanceType, InstanceType } from '../api/generated/types.js';
import { instanceTypeSpec, type InstanceTypeSpec } from '../runner/instance-types.js';

/**
 * The inference enum's instance types that training's lacks, with EC2's published vCPUs, memory (GiB) and GPUs.
 * Typed over exactly that difference, so the compiler refuses a missing one when the model changes.
 */
const INFERENCE_ONLY: Readonly<Record<Exclude<InferenceInstanceType, InstanceType>, InstanceTypeSpec>> = {
  'ml.c6i.large': { vcpus: 2, memoryGiB: 4, gpus: 0 },
  'ml.r6i.large': { vcpus: 2, memoryGiB: 16, gpus: 0 },
  'ml.r6i.xlarge': { vcpus: 4, memoryGiB: 32, gpus: 0 },
  'ml.r6i.2xlarge': { vcpus: 8, memoryGiB: 64, gpus: 0 },
  'ml.r6i.4xlarge': { vcpus: 16, memoryGiB: 128, gpus: 0 },
  'ml.r6i.8xlarge': { vcpus: 32, memoryGiB: 256, gpus: 0 },
  'ml.r6i.12xlarge': { vcpus: 48, memoryGiB: 384, gpus: 0 },
  'ml.r6i.16xlarge': { vcpus: 64, memoryGiB: 512, gpus: 0 },
  'ml.r6i.24xlarge': { vcpus: 96, memoryGiB: 768, gpus: 0 },
  'ml.r6i.32xlarge': { vcpus: 128, memoryGiB: 1024, gpus: 0 },
};

/** An inference instance type's figures: training's table, else the inference-only ones. */
export function inferenceInstanceTypeSpec(instanceType: string): InstanceTypeSpec | undefined {
  return instanceTypeSpec(instanceType) ?? (Object.hasOwn(INFERENCE_ONLY, instanceType) ? INFERENCE_ONLY[instanceType as keyof typeof INFERENCE_ONLY] : undefined);
}
