import { availableParallelism, totalmem } from 'node:os';
import { instanceTypeSpec, type InstanceTypeSpec } from './instance-types.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** What this machine can give one training container. */
export interface HostCapacity {
  cpus: number;
  memoryBytes: number;
  gpus: number;
}

/**
 * This machine, less some headroom for the engine, the runner and the OS (10% of memory, at least 512 MiB).
 * GPUs are not probed: a host with GPUs says so through the injected HostCapacity.
 */
export function hostCapacity(): HostCapacity {
  const total = totalmem();
  return { cpus: availableParallelism(), memoryBytes: Math.max(256 * MiB, total - Math.max(512 * MiB, Math.floor(total * 0.1))), gpus: 0 };
}

export interface AppliedLimits {
  instanceType: string;
  /** The instance type's published figures. */
  requested: { vcpus: number; memoryBytes: number; gpus: number };
  /** What the container actually gets. */
  vcpus: number;
  memoryBytes: number;
  gpus: number;
  shmSizeBytes: number;
  /** What differs from the instance type and why, when something does (also said in the run's log). */
  scaledDown?: string;
}

export class InsufficientCapacityError extends Error {
  override readonly name = 'InsufficientCapacityError';
}

/** /dev/shm: Docker's 64 MB default breaks multi-process data loaders; half the memory, as a real instance roughly gives. */
function shmSizeFor(memoryBytes: number): number {
  return Math.max(64 * MiB, Math.floor(memoryBytes / 2));
}

const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

/**
 * The container limits of an instance type on this host (contract §5): the instance's vCPUs, memory and GPUs,
 * scaled down to the host when it is smaller (and said so), or refused in strict mode.
 */
export function limitsFor(
  instanceType: string,
  host: HostCapacity,
  strict: boolean,
  // Inference has instance types training's enum lacks (ml.r6i.*): their figures come from the caller.
  spec: InstanceTypeSpec | undefined = instanceTypeSpec(instanceType),
): AppliedLimits {
  if (!spec) throw new InsufficientCapacityError(`Unknown instance type ${instanceType}.`);
  const requested = { vcpus: spec.vcpus, memoryBytes: Math.round(spec.memoryGiB * GiB), gpus: spec.gpus };
  const vcpus = Math.min(requested.vcpus, host.cpus);
  const memoryBytes = Math.min(requested.memoryBytes, host.memoryBytes);
  const gpus = Math.min(requested.gpus, host.gpus);
  const short: string[] = [];
  if (vcpus < requested.vcpus) short.push(`${vcpus} of ${requested.vcpus} vCPUs`);
  if (memoryBytes < requested.memoryBytes) short.push(`${gib(memoryBytes)} of ${gib(requested.memoryBytes)} memory`);
  if (gpus < requested.gpus) short.push(`${gpus} of ${requested.gpus} GPUs${host.gpus === 0 ? ' (this host has no GPU)' : ''}`);
  if (short.length > 0 && strict) {
    throw new InsufficientCapacityError(
      `This host is smaller than ${instanceType} (strict mode): it can give only ${short.join(', ')}. ` +
        'Use a smaller instance type or turn strict resources off.',
    );
  }
  const scaledDown = short.length > 0 ? `This host is smaller than ${instanceType}: the container gets ${short.join(', ')}.` : undefined;
  return { instanceType, requested, vcpus, memoryBytes, gpus, shmSizeBytes: shmSizeFor(memoryBytes), scaledDown };
}
