import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { INSTANCE_TYPES, instanceTypeSpec } from '../../src/runner/instance-types.js';
import { limitsFor } from '../../src/runner/resource-limits.js';

const model = JSON.parse(readFileSync('/work/shared/aws-model/cleanroomsml/2023-09-06/service-2.json', 'utf8')) as {
  shapes: { InstanceType: { enum: string[] } };
};
const GiB = 1024 ** 3;

describe('instance type catalog', () => {
  it('covers exactly the InstanceType enum of the service model', () => {
    expect(Object.keys(INSTANCE_TYPES).sort()).toEqual([...model.shapes.InstanceType.enum].sort());
  });

  it("holds EC2's published figures", () => {
    expect(instanceTypeSpec('ml.m5.large')).toEqual({ vcpus: 2, memoryGiB: 8, gpus: 0 });
    expect(instanceTypeSpec('ml.c5.xlarge')).toEqual({ vcpus: 4, memoryGiB: 8, gpus: 0 });
    expect(instanceTypeSpec('ml.g4dn.xlarge')).toEqual({ vcpus: 4, memoryGiB: 16, gpus: 1 });
    expect(instanceTypeSpec('ml.g4dn.12xlarge')).toEqual({ vcpus: 48, memoryGiB: 192, gpus: 4 });
    expect(instanceTypeSpec('ml.p3.2xlarge')).toEqual({ vcpus: 8, memoryGiB: 61, gpus: 1 });
    expect(instanceTypeSpec('ml.c4.xlarge')).toEqual({ vcpus: 4, memoryGiB: 7.5, gpus: 0 });
    expect(instanceTypeSpec('ml.t3.medium')).toEqual({ vcpus: 2, memoryGiB: 4, gpus: 0 });
    expect(instanceTypeSpec('ml.trn1.32xlarge')).toEqual({ vcpus: 128, memoryGiB: 512, gpus: 0, neuronDevices: 16 });
    expect(instanceTypeSpec('ml.nope.large')).toBeUndefined();
    expect(instanceTypeSpec('toString')).toBeUndefined();
    for (const [name, s] of Object.entries(INSTANCE_TYPES)) {
      expect(s.vcpus, name).toBeGreaterThan(0);
      expect(s.memoryGiB, name).toBeGreaterThan(0);
      expect(s.gpus > 0, name).toBe(/^ml\.[gp]/.test(name));
    }
  });
});

describe('limits for an instance type on a host', () => {
  const bigHost = { cpus: 256, memoryBytes: 4096 * GiB, gpus: 8 };
  const smallHost = { cpus: 2, memoryBytes: 6 * GiB, gpus: 0 };

  it('are the instance figures on a host that has room, with /dev/shm half the memory', () => {
    expect(limitsFor('ml.g5.12xlarge', bigHost, true)).toEqual({
      instanceType: 'ml.g5.12xlarge',
      requested: { vcpus: 48, memoryBytes: 192 * GiB, gpus: 4 },
      vcpus: 48, memoryBytes: 192 * GiB, gpus: 4, shmSizeBytes: 96 * GiB, scaledDown: undefined,
    });
  });

  it('are scaled down to a smaller host, and say so', () => {
    const l = limitsFor('ml.p3.2xlarge', smallHost, false);
    expect(l).toMatchObject({ vcpus: 2, memoryBytes: 6 * GiB, gpus: 0, shmSizeBytes: 3 * GiB, requested: { vcpus: 8, gpus: 1 } });
    expect(l.scaledDown).toBe('This host is smaller than ml.p3.2xlarge: the container gets 2 of 8 vCPUs, 6.0 GiB of 61.0 GiB memory, 0 of 1 GPUs (this host has no GPU).');
  });

  it('are refused in strict mode when the host is smaller', () => {
    expect(() => limitsFor('ml.m5.xlarge', smallHost, true)).toThrow(
      'This host is smaller than ml.m5.xlarge (strict mode): it can give only 2 of 4 vCPUs, 6.0 GiB of 16.0 GiB memory. Use a smaller instance type or turn strict resources off.',
    );
    expect(() => limitsFor('ml.t3.medium', smallHost, true)).not.toThrow();
  });
});
