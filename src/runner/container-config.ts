import type { Settings } from '../settings.js';
import type { ChannelBindMount } from '../channels/channel-mounts.js';
import type { ContainerCreateSpec } from './container-engine.js';
import type { AppliedLimits } from './resource-limits.js';
import type { TrainingJobSpec } from './types.js';
import { invocation, trainingEnvironment } from './training-environment.js';

export const LABEL_TRAINED_MODEL = 'crml.trained-model';
export const LABEL_HOST = 'crml.host';
/** The trained model version a container runs ('' or absent for the base version). */
export const LABEL_VERSION = 'crml.version';
export const LABEL_MANAGED = 'crml.managed';

export interface TrainingContainerInput {
  spec: TrainingJobSpec;
  /** The resolved image id, so a tag that moves meanwhile changes nothing. */
  imageId: string;
  /** This container's host name (algo-1 …) and every host of the run. */
  host: string;
  hosts: string[];
  limits: AppliedLimits;
  hardening: Settings['hardening'];
  mounts: ChannelBindMount[];
  /** Config file name → content (hyperparameters.json, …), also mirrored into the environment. */
  configFiles: Record<string, string>;
  /** 'none' for a single instance; the run's own network when there are several. */
  networkMode: string;
}

/** The labels that tie a container or network to one run: its store, trained model and version. */
export function runLabels(spec: TrainingJobSpec): Record<string, string> {
  return {
    ...spec.labels,
    [LABEL_TRAINED_MODEL]: spec.trainedModelArn,
    ...(spec.versionIdentifier ? { [LABEL_VERSION]: spec.versionIdentifier } : {}),
    [LABEL_MANAGED]: 'true',
  };
}

/**
 * One training container after the contract: invocation (§2), environment (§4), limits and hardening (§5),
 * read-only channel mounts (§3), and the labels that let any later process find it. The writable /opt/ml
 * areas are not mounts: they are put into the container before it starts.
 */
export function trainingContainerSpec(input: TrainingContainerInput): ContainerCreateSpec {
  const { spec, limits, hardening, host } = input;
  const { entrypoint, cmd } = invocation(spec);
  return {
    image: input.imageId,
    hostname: host,
    entrypoint,
    cmd,
    env: trainingEnvironment(spec, host, input.hosts, limits, input.configFiles),
    labels: { ...runLabels(spec), [LABEL_HOST]: host },
    binds: input.mounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.containerPath, readOnly: true })),
    networkMode: input.networkMode,
    networkAliases: input.networkMode === 'none' ? undefined : [host],
    nanoCpus: Math.round(limits.vcpus * 1e9),
    memoryBytes: limits.memoryBytes,
    shmSizeBytes: limits.shmSizeBytes,
    pidsLimit: hardening.pidsLimit,
    capDrop: ['ALL'],
    capAdd: hardening.capAdd,
    securityOpt: hardening.noNewPrivileges ? ['no-new-privileges'] : [],
    gpus: limits.gpus,
  };
}
