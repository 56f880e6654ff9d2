import { channelInputMode } from '../channels/channel-mounts.js';
import type { TrainingJobSpec } from './types.js';
import type { AppliedLimits } from './resource-limits.js';

/** The three config files of contract §3, for one host. */
export function configFiles(spec: TrainingJobSpec, host: string, hosts: string[]): Record<string, string> {
  const inputDataConfig = Object.fromEntries(
    spec.channels.map((c) => [
      c.channelName,
      {
        ContentType: c.contentType,
        TrainingInputMode: channelInputMode(c, spec.trainingInputMode),
        S3DistributionType: c.s3DataDistributionType,
        RecordWrapperType: 'None',
      },
    ]),
  );
  const resourceConfig = {
    current_host: host,
    current_instance_type: spec.instanceType,
    current_group_name: 'homogeneousCluster',
    hosts,
    instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: spec.instanceType, hosts }],
    network_interface_name: 'eth0',
  };
  return {
    'hyperparameters.json': JSON.stringify(spec.hyperparameters),
    'inputdataconfig.json': JSON.stringify(inputDataConfig),
    'resourceconfig.json': JSON.stringify(resourceConfig),
  };
}

/** SM_CHANNEL_<NAME>: upper-cased, `-` and `.` turned into `_`. */
export function channelVariable(channelName: string): string {
  return `SM_CHANNEL_${channelName.toUpperCase().replace(/[-.]/g, '_')}`;
}

/** SM_HP_<NAME>: upper-cased, `-` and `.` turned into `_`. */
export function hyperparameterVariable(key: string): string {
  return `SM_HP_${key.toUpperCase().replace(/[-.]/g, '_')}`;
}

/** The environment of contract §4, then the request's own on top. */
export function trainingEnvironment(
  spec: TrainingJobSpec,
  host: string,
  hosts: string[],
  limits: AppliedLimits,
  files: Record<string, string>,
): Record<string, string> {
  const parquet = spec.channels.some((c) => c.contentType === 'application/x-parquet');
  const env: Record<string, string> = {
    SM_MODEL_DIR: '/opt/ml/model',
    SM_OUTPUT_DIR: '/opt/ml/output/data',
    SM_OUTPUT_DATA_DIR: '/opt/ml/output/data',
    SM_INPUT_DIR: '/opt/ml/input',
    SM_INPUT_CONFIG_DIR: '/opt/ml/input/config',
    SM_CHANNELS: JSON.stringify(spec.channels.map((c) => c.channelName)),
    SM_HPS: JSON.stringify(spec.hyperparameters),
    SM_CURRENT_HOST: host,
    SM_HOSTS: JSON.stringify(hosts),
    SM_NUM_CPUS: String(limits.vcpus),
    SM_NUM_GPUS: String(limits.gpus),
    SM_RESOURCE_CONFIG: files['resourceconfig.json']!,
    SM_INPUT_DATA_CONFIG: files['inputdataconfig.json']!,
    TRAINING_JOB_NAME: spec.name,
    TRAINING_JOB_ARN: spec.trainedModelArn,
    FILE_FORMAT: parquet ? 'parquet' : 'csv',
  };
  for (const c of spec.channels) env[channelVariable(c.channelName)] = `/opt/ml/input/data/${c.channelName}`;
  for (const [k, v] of Object.entries(spec.hyperparameters)) env[hyperparameterVariable(k)] = v;
  return { ...env, ...spec.environment };
}

/** Entrypoint and Cmd after contract §2. */
export function invocation(spec: TrainingJobSpec): { entrypoint?: string[]; cmd: string[] } {
  const hasEntrypoint = spec.entrypoint !== undefined && spec.entrypoint.length > 0;
  const hasArguments = spec.arguments !== undefined && spec.arguments.length > 0;
  if (hasEntrypoint) return { entrypoint: spec.entrypoint, cmd: hasArguments ? spec.arguments! : [] };
  return { cmd: hasArguments ? spec.arguments! : ['train'] };
}
