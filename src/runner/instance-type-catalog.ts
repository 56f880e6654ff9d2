import type { InstanceType } from '../api/generated/types.js';

/**
 * Every instance type of the model's InstanceType enum with EC2's published vCPUs, memory (GiB) and
 * accelerators. Families share a memory-per-vCPU ratio; the exceptions are listed as they are published.
 */
export interface InstanceTypeSpec {
  vcpus: number;
  memoryGiB: number;
  gpus: number;
  /** AWS Trainium chips (trn1*): not GPUs, reported for information. */
  neuronDevices?: number;
}

const SIZE_VCPUS: Record<string, number> = {
  medium: 2, large: 2, xlarge: 4, '2xlarge': 8, '4xlarge': 16, '8xlarge': 32, '9xlarge': 36, '10xlarge': 40,
  '12xlarge': 48, '16xlarge': 64, '18xlarge': 72, '24xlarge': 96, '32xlarge': 128, '48xlarge': 192,
};
const GIB_PER_VCPU: Record<string, number> = { m4: 4, m5: 4, m6i: 4, m7i: 4, c5: 2, c6i: 2, c7i: 2, r5: 8, r5d: 8, r7i: 8, t3: 4, c4: 1.875 };

/** Published figures that no ratio gives. */
const EXPLICIT: Record<string, InstanceTypeSpec> = {
  'ml.t3.medium': { vcpus: 2, memoryGiB: 4, gpus: 0 },
  'ml.c4.8xlarge': { vcpus: 36, memoryGiB: 60, gpus: 0 },
  'ml.c5n.xlarge': { vcpus: 4, memoryGiB: 10.5, gpus: 0 },
  'ml.c5n.2xlarge': { vcpus: 8, memoryGiB: 21, gpus: 0 },
  'ml.c5n.4xlarge': { vcpus: 16, memoryGiB: 42, gpus: 0 },
  'ml.c5n.9xlarge': { vcpus: 36, memoryGiB: 96, gpus: 0 },
  'ml.c5n.18xlarge': { vcpus: 72, memoryGiB: 192, gpus: 0 },
  'ml.p2.xlarge': { vcpus: 4, memoryGiB: 61, gpus: 1 },
  'ml.p2.8xlarge': { vcpus: 32, memoryGiB: 488, gpus: 8 },
  'ml.p2.16xlarge': { vcpus: 64, memoryGiB: 732, gpus: 16 },
  'ml.p3.2xlarge': { vcpus: 8, memoryGiB: 61, gpus: 1 },
  'ml.p3.8xlarge': { vcpus: 32, memoryGiB: 244, gpus: 4 },
  'ml.p3.16xlarge': { vcpus: 64, memoryGiB: 488, gpus: 8 },
  'ml.p3dn.24xlarge': { vcpus: 96, memoryGiB: 768, gpus: 8 },
  'ml.p4d.24xlarge': { vcpus: 96, memoryGiB: 1152, gpus: 8 },
  'ml.p4de.24xlarge': { vcpus: 96, memoryGiB: 1152, gpus: 8 },
  'ml.p5.48xlarge': { vcpus: 192, memoryGiB: 2048, gpus: 8 },
  'ml.p5en.48xlarge': { vcpus: 192, memoryGiB: 2048, gpus: 8 },
  'ml.trn1.2xlarge': { vcpus: 8, memoryGiB: 32, gpus: 0, neuronDevices: 1 },
  'ml.trn1.32xlarge': { vcpus: 128, memoryGiB: 512, gpus: 0, neuronDevices: 16 },
  'ml.trn1n.32xlarge': { vcpus: 128, memoryGiB: 512, gpus: 0, neuronDevices: 16 },
};

/** g4dn, g5, g6 (4 GiB per vCPU) and g6e (8): one GPU up to 16xlarge but 4 at 12x/24x and 8 at 48x. */
function gpuFamily(family: string, size: string): InstanceTypeSpec | undefined {
  const perVcpu = family === 'g6e' ? 8 : family === 'g4dn' || family === 'g5' || family === 'g6' ? 4 : undefined;
  const vcpus = SIZE_VCPUS[size];
  if (perVcpu === undefined || vcpus === undefined) return undefined;
  const gpus = size === '12xlarge' || size === '24xlarge' ? 4 : size === '48xlarge' ? 8 : 1;
  return { vcpus, memoryGiB: vcpus * perVcpu, gpus };
}

export function instanceTypeSpec(instanceType: InstanceType | string): InstanceTypeSpec | undefined {
  if (EXPLICIT[instanceType]) return EXPLICIT[instanceType];
  const m = /^ml\.([a-z0-9]+)\.([a-z0-9]+)$/.exec(instanceType);
  if (!m) return undefined;
  const [, family, size] = m as unknown as [string, string, string];
  const gpu = gpuFamily(family, size);
  if (gpu) return gpu;
  const vcpus = SIZE_VCPUS[size];
  const ratio = GIB_PER_VCPU[family];
  if (vcpus === undefined || ratio === undefined) return undefined;
  return { vcpus, memoryGiB: vcpus * ratio, gpus: 0 };
}
