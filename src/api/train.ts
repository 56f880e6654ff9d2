import type { ResourceKind } from './store.js';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { CleanRoomsMLLocal } from './service.js';
import type * as T from './generated/types.js';

/** What `train` needs: an image, local channel folders and the run's settings. */
export interface TrainInput {
  imageUri: string;
  /** Channel name → local folder. */
  channels: Record<string, string>;
  name?: string;
  hyperparameters?: Record<string, string>;
  environment?: Record<string, string>;
  instanceType?: string;
  instanceCount?: number;
  inputMode?: T.TrainingInputMode;
  maxRuntimeInSeconds?: number;
  metricDefinitions?: { name: string; regex: string }[];
  privacyConfiguration?: T.PrivacyConfiguration;
  roleArn?: string;
}

export interface TrainResult {
  trainedModelArn: string;
  configuredModelAlgorithmArn: string;
  configuredModelAlgorithmAssociationArn: string;
  mlInputChannelArns: Record<string, string>;
  reused: { configuredModelAlgorithm: boolean; configuredModelAlgorithmAssociation: boolean; mlInputChannels: string[] };
}

const ROLE = 'arn:aws:iam::123456789012:role/crml-train';

/** A short stable hash, so that the same configuration maps to the same names (reuse) and another to new ones. */
function shortHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 10);
}

/**
 * Creates or reuses (by names derived from what was given) the algorithm, association and channels, then
 * creates the trained model. Only the service's public methods: the API's validation and wording apply.
 */
export async function train(service: CleanRoomsMLLocal, input: TrainInput): Promise<TrainResult> {
  const membershipIdentifier = service.settings.defaultMembershipId;
  const roleArn = input.roleArn ?? ROLE;
  const trainingContainerConfig: T.ContainerConfig = { imageUri: input.imageUri, metricDefinitions: input.metricDefinitions };
  const algoName = `crml-train-${shortHash(trainingContainerConfig)}`;
  // By name in one store query (the names are derived, so a name is what was given), not by paging every list.
  const byName = (kind: ResourceKind, name: string) => service.store.arnByIdOrName(kind, name);
  let algo = byName('configured-model-algorithm', algoName);
  const reusedAlgo = algo !== undefined;
  algo ??= (await service.createConfiguredModelAlgorithm({ name: algoName, roleArn, trainingContainerConfig })).configuredModelAlgorithmArn;

  const assocName = `crml-train-${shortHash([membershipIdentifier, algo, input.privacyConfiguration ?? null])}`;
  let assoc = byName('configured-model-algorithm-association', assocName);
  const reusedAssoc = assoc !== undefined;
  assoc ??= (
    await service.createConfiguredModelAlgorithmAssociation({
      membershipIdentifier,
      configuredModelAlgorithmArn: algo,
      name: assocName,
      privacyConfiguration: input.privacyConfiguration,
    })
  ).configuredModelAlgorithmAssociationArn;

  const mlInputChannelArns: Record<string, string> = {};
  const reusedChannels: string[] = [];
  for (const [channelName, folder] of Object.entries(input.channels)) {
    const path = resolve(folder);
    const name = `crml-train-${channelName}-${shortHash([assoc, path])}`.slice(0, 63);
    const found = byName('ml-input-channel', name);
    if (found && (await service.getMLInputChannel({ membershipIdentifier, mlInputChannelArn: found })).status !== 'INACTIVE') {
      reusedChannels.push(channelName);
      mlInputChannelArns[channelName] = found;
      continue;
    }
    mlInputChannelArns[channelName] = (
      await service.createMLInputChannel({
        membershipIdentifier,
        name,
        retentionInDays: 1,
        configuredModelAlgorithmAssociations: [assoc],
        inputChannel: { roleArn, dataSource: { localDataSource: { path } } },
      })
    ).mlInputChannelArn;
  }

  const { trainedModelArn } = await service.createTrainedModel({
    membershipIdentifier,
    name: input.name ?? `train-${new Date().toISOString().replace(/[^0-9]/g, '').slice(0, 14)}`,
    configuredModelAlgorithmAssociationArn: assoc,
    hyperparameters: input.hyperparameters,
    environment: input.environment,
    resourceConfig: { instanceType: (input.instanceType ?? 'ml.m5.large') as T.ResourceConfig['instanceType'], instanceCount: input.instanceCount ?? 1, volumeSizeInGB: 10 },
    stoppingCondition: input.maxRuntimeInSeconds === undefined ? undefined : { maxRuntimeInSeconds: input.maxRuntimeInSeconds },
    trainingInputMode: input.inputMode,
    dataChannels: Object.entries(mlInputChannelArns).map(([channelName, mlInputChannelArn]) => ({ channelName, mlInputChannelArn })),
  });
  return {
    trainedModelArn,
    configuredModelAlgorithmArn: algo,
    configuredModelAlgorithmAssociationArn: assoc,
    mlInputChannelArns,
    reused: { configuredModelAlgorithm: reusedAlgo, configuredModelAlgorithmAssociation: reusedAssoc, mlInputChannels: reusedChannels },
  };
}

