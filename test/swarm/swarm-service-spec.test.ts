import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/settings.js';
import { limitsFor } from '../../src/runner/resource-limits.js';
import { hostObjects, notAppliedLine, swarmRunName, trainingServiceSpec } from '../../src/runner/swarm/swarm-service-spec.js';
import { probeJobSpec } from '../helpers/job-spec.js';

interface ServiceShape {
  Name: string;
  Mode: unknown;
  EndpointSpec: unknown;
  TaskTemplate: {
    RestartPolicy: unknown;
    Placement: { Constraints: string[] };
    Networks: unknown;
    Resources: unknown;
    ContainerSpec: { Mounts: unknown; Configs: unknown; Env: string[] };
  };
}

const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/spec';

describe('a host of a Swarm run as a service (no swarm needed)', () => {
  const spec = probeJobSpec({ trainedModelArn: ARN, name: 'spec', artifactsDir: '/tmp/x', instanceCount: 3, entrypoint: ['python3'], arguments: ['train.py'] });
  const limits = limitsFor('ml.m5.large', { cpus: 4, memoryBytes: 64 * 1024 ** 3, gpus: 0 }, false);
  const runName = swarmRunName(ARN);
  const service = trainingServiceSpec({
    spec, host: 'algo-2', hosts: ['algo-1', 'algo-2', 'algo-3'], imageId: 'sha256:abc', limits,
    hardening: defaultSettings().hardening, stopGracePeriodMs: 5000, nodeId: 'node2', networkId: 'net1',
    objects: hostObjects(runName, 'algo-2'), configs: { 'hyperparameters.json': { id: 'c1', name: 'cfg' } }, configFiles: { 'resourceconfig.json': '{}', 'inputdataconfig.json': '{}' },
  }) as unknown as ServiceShape;

  it('is one task of a replicated job that never restarts, pinned to its node, algo-i by hostname and dnsrr alias', () => {
    expect(service.Name).toBe(`${runName}-algo-2`);
    expect(service.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    expect(service.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(service.TaskTemplate.RestartPolicy).toEqual({ Condition: 'none', MaxAttempts: 0 });
    expect(service.TaskTemplate.Placement.Constraints).toEqual(['node.id==node2']);
    expect(service.TaskTemplate.Networks).toEqual([{ Target: 'net1', Aliases: ['algo-2'] }]);
    expect(service.TaskTemplate.ContainerSpec).toMatchObject({ Image: 'sha256:abc', Hostname: 'algo-2', Command: ['python3'], Args: ['train.py'], CapabilityDrop: ['ALL'] });
  });

  it("carries the instance type's limits, /dev/shm, the read-only channels and the config files at the contract's paths", () => {
    expect(service.TaskTemplate.Resources).toEqual({ Limits: { NanoCPUs: 2e9, MemoryBytes: 8 * 1024 ** 3, Pids: 4096 } });
    expect(service.TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: 'volume', Source: `${runName}-algo-2-ml`, Target: '/opt/ml' },
      { Type: 'volume', Source: `${runName}-algo-2-data`, Target: '/opt/ml/input/data', ReadOnly: true },
      { Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 4 * 1024 ** 3, Mode: 0o1777 } },
    ]);
    expect(service.TaskTemplate.ContainerSpec.Configs).toEqual([
      { ConfigID: 'c1', ConfigName: 'cfg', File: { Name: '/opt/ml/input/config/hyperparameters.json', UID: '0', GID: '0', Mode: 0o444 } },
    ]);
    expect(service.TaskTemplate.ContainerSpec.Env).toContain('SM_CURRENT_HOST=algo-2');
  });

  it('says what it cannot apply', () => {
    expect(notAppliedLine(defaultSettings().hardening, limits)).toMatch(/no-new-privileges .*swap off/);
  });
});
