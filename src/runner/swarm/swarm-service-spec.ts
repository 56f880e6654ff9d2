import { createHash } from 'node:crypto';
import type { Settings } from '../../settings.js';
import { CHANNELS_ROOT } from '../../channels/channel-mounts.js';
import { LABEL_HOST, runLabels } from '../container-config.js';
import type { AppliedLimits } from '../resource-limits.js';
import { invocation, trainingEnvironment } from '../training-environment.js';
import type { TrainingJobSpec } from '../types.js';

/** What an object of a Swarm run is: a host's task (service and container) or its holder (volumes' container). */
export const LABEL_SWARM_ROLE = 'crml.swarm.role';

/**
 * The names of one run's objects on the swarm, from its trained model ARN and version alone, so a later
 * process (re-attach, reconciliation) finds them again: `crml-swarm-<hash>` for the network, and per host the
 * service, its volumes and its config files.
 */
export function swarmRunName(trainedModelArn: string, versionIdentifier = ''): string {
  const run = versionIdentifier ? `${trainedModelArn}#${versionIdentifier}` : trainedModelArn;
  return `crml-swarm-${createHash('sha256').update(run).digest('hex').slice(0, 20)}`;
}

export interface HostObjects {
  service: string;
  /** /opt/ml of the task (writable: model, output, checkpoints; the config files' folder). */
  mlVolume: string;
  /** /opt/ml/input/data: the host's channels (or its share of them), mounted read-only. */
  dataVolume: string;
  config: (file: string) => string;
}

export function hostObjects(runName: string, host: string): HostObjects {
  return {
    service: `${runName}-${host}`,
    mlVolume: `${runName}-${host}-ml`,
    dataVolume: `${runName}-${host}-data`,
    config: (file) => `${runName}-${host}-${file}`,
  };
}

/** The labels of every object a host of the run owns (service, task container, holder, volumes, configs). */
export function hostLabels(spec: TrainingJobSpec, host: string, role?: 'task' | 'holder'): Record<string, string> {
  return { ...runLabels(spec), [LABEL_HOST]: host, ...(role ? { [LABEL_SWARM_ROLE]: role } : {}) };
}

export interface ServiceInput {
  spec: TrainingJobSpec;
  host: string;
  hosts: string[];
  imageId: string;
  limits: AppliedLimits;
  hardening: Settings['hardening'];
  stopGracePeriodMs: number;
  nodeId: string;
  networkId: string;
  objects: HostObjects;
  /** Config file name → the Swarm config's id and name. */
  configs: Record<string, { id: string; name: string }>;
  configFiles: Record<string, string>;
}

/**
 * One host of the run as a Swarm service (distributed.md §1): a replicated job of one task that never restarts
 * (a failed task would be re-run forever otherwise), pinned to its node (its volumes live there), hostname and
 * alias algo-i on the run's overlay network (dnsrr: this kernel, like many, has no IPVS for VIPs), the instance
 * type's limits, /dev/shm as a tmpfs of the contract's size,
 * the config files as Swarm configs, and the hardening Swarm offers (capabilities; no-new-privileges is not
 * among the fields of services before API 1.44).
 */
export function trainingServiceSpec(input: ServiceInput): Record<string, unknown> {
  const { spec, host, limits, hardening, objects } = input;
  const { entrypoint, cmd } = invocation(spec);
  const env = trainingEnvironment(spec, host, input.hosts, limits, input.configFiles);
  const nanoCPUs = Math.round(limits.vcpus * 1e9);
  return {
    Name: objects.service,
    Labels: hostLabels(spec, host, 'task'),
    TaskTemplate: {
      ContainerSpec: {
        Image: input.imageId,
        Labels: hostLabels(spec, host, 'task'),
        Hostname: host,
        // Command replaces the image's entrypoint, Args its cmd: as `docker run --entrypoint … image args`.
        ...(entrypoint ? { Command: entrypoint } : {}),
        Args: cmd,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Mounts: [
          { Type: 'volume', Source: objects.mlVolume, Target: '/opt/ml' },
          { Type: 'volume', Source: objects.dataVolume, Target: CHANNELS_ROOT, ReadOnly: true },
          { Type: 'tmpfs', Target: '/dev/shm', TmpfsOptions: { SizeBytes: limits.shmSizeBytes, Mode: 0o1777 } },
        ],
        Configs: Object.entries(input.configs).map(([file, c]) => ({
          ConfigID: c.id,
          ConfigName: c.name,
          File: { Name: `/opt/ml/input/config/${file}`, UID: '0', GID: '0', Mode: 0o444 },
        })),
        CapabilityDrop: ['ALL'],
        ...(hardening.capAdd.length > 0 ? { CapabilityAdd: hardening.capAdd } : {}),
        StopSignal: 'SIGTERM',
        StopGracePeriod: input.stopGracePeriodMs * 1e6,
      },
      // Limits only, no Reservations: swarmkit (20.10) keeps the tasks of a removed replicated job with desired
      // state `complete`, and its constraint enforcer counts their reservations against the node for good, so the
      // next run's tasks on that node were rejected ("assigned node no longer meets constraints"). Those records
      // stay whatever --task-history-limit says (moby/moby#44312, fixed by moby/swarmkit#3112 after 20.10).
      Resources: { Limits: { NanoCPUs: nanoCPUs, MemoryBytes: limits.memoryBytes, Pids: hardening.pidsLimit } },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Constraints: [`node.id==${input.nodeId}`] },
      Networks: [{ Target: input.networkId, Aliases: [host] }],
    },
    // MaxConcurrent must be set: left out it is 1 (fine for one task, but said so it never serialises hosts).
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/** What a Swarm run cannot give that a single-engine run does, said once in the run's log. */
export function notAppliedLine(hardening: Settings['hardening'], limits: AppliedLimits): string {
  const parts: string[] = [];
  if (hardening.noNewPrivileges) parts.push('no-new-privileges (Swarm services of this engine API have no such setting)');
  parts.push('swap off (services have no MemorySwap: the node\'s swap setting applies)');
  if (limits.requested.gpus > 0) parts.push('GPUs (services have no device requests)');
  return `On a Docker Swarm, these parts of a single-engine run's limits and hardening are not applied: ${parts.join('; ')}.`;
}
