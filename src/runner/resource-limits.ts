import { availableParallelism, totalmem } from 'node:os';
import { instanceTypeSpec } from './instance-type-catalog.js';

const GiB = 1024 ** 3;

export interface HostCapacity {
  cpus: number;
  memoryBytes: number;
  gpus: number;
}

export function hostCapacity(): HostCapacity {
  // Leave room for the engine and the runner itself.
  return { cpus: availableParallelism(), memoryBytes: Math.floor(totalmem() * 0.9), gpus: 0 };
}

export interface AppliedLimits {
  instanceType: string;
  requested: { vcpus: number; memoryBytes: number; gpus: number };
  vcpus: number;
  memoryBytes: number;
  gpus: number;
  shmSizeBytes: number;
  pidsLimit: number;
  /** Why the limits differ from the instance type's, when they do. */
  scaledDown?: string;
}

export class InsufficientCapacityError extends Error {
  override readonly name = 'InsufficientCapacityError';
}

export const PIDS_LIMIT = 4096;

/**
 * The container limits of an instance type on this host (contract §5): the instance's vCPUs, memory and
 * GPUs, scaled down to the host when it is smaller (and said so), or refused in strict mode.
 */
export function limitsFor(instanceType: string, host: HostCapacity, strict: boolean): AppliedLimits {
  const spec = instanceTypeSpec(instanceType);
  if (!spec) throw new InsufficientCapacityError(`Unknown instance type ${instanceType}.`);
  const requested = { vcpus: spec.vcpus, memoryBytes: Math.round(spec.memoryGiB * GiB), gpus: spec.gpus };
  const vcpus = Math.min(requested.vcpus, host.cpus);
  const memoryBytes = Math.min(requested.memoryBytes, host.memoryBytes);
  const gpus = Math.min(requested.gpus, host.gpus);
  const short: string[] = [];
  if (vcpus < requested.vcpus) short.push(`${vcpus} of ${requested.vcpus} vCPUs`);
  if (memoryBytes < requested.memoryBytes) {
    short.push(`${(memoryBytes / GiB).toFixed(1)} of ${(requested.memoryBytes / GiB).toFixed(1)} GiB memory`);
  }
  if (gpus < requested.gpus) short.push(`${gpus} of ${requested.gpus} GPUs`);
  const scaledDown = short.length
    ? `This host is smaller than ${instanceType}: the container gets ${short.join(', ')}.`
    : undefined;
  if (scaledDown && strict) {
    throw new InsufficientCapacityError(`${scaledDown.replace(': the container gets', ' (strict mode): it would get')} Use a smaller instance type or turn strict mode off.`);
  }
  // /dev/shm sized for the instance: Docker's 64 MB breaks multi-process data loaders.
  const shmSizeBytes = Math.floor(memoryBytes / 2);
  return { instanceType, requested, vcpus, memoryBytes, gpus, shmSizeBytes, pidsLimit: PIDS_LIMIT, scaledDown };
}
