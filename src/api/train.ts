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
  const algorithms = await all((nextToken) => service.listConfiguredModelAlgorithms({ nextToken }), (r) => r.configuredModelAlgorithms);
  let algo = algorithms.find((a) => a.name === algoName)?.configuredModelAlgorithmArn;
  const reusedAlgo = algo !== undefined;
  algo ??= (await service.createConfiguredModelAlgorithm({ name: algoName, roleArn, trainingContainerConfig })).configuredModelAlgorithmArn;

  const assocName = `crml-train-${shortHash([algo, input.privacyConfiguration ?? null])}`;
  const assocs = await all(
    (nextToken) => service.listConfiguredModelAlgorithmAssociations({ membershipIdentifier, nextToken }),
    (r) => r.configuredModelAlgorithmAssociations,
  );
  let assoc = assocs.find((a) => a.name === assocName)?.configuredModelAlgorithmAssociationArn;
  const reusedAssoc = assoc !== undefined;
  assoc ??= (
    await service.createConfiguredModelAlgorithmAssociation({
      membershipIdentifier,
      configuredModelAlgorithmArn: algo,
      name: assocName,
      privacyConfiguration: input.privacyConfiguration,
    })
  ).configuredModelAlgorithmAssociationArn;

  const existing = await all((nextToken) => service.listMLInputChannels({ membershipIdentifier, nextToken }), (r) => r.mlInputChannelsList);
  const mlInputChannelArns: Record<string, string> = {};
  const reusedChannels: string[] = [];
  for (const [channelName, folder] of Object.entries(input.channels)) {
    const path = resolve(folder);
    const name = `crml-train-${channelName}-${shortHash([assoc, path])}`.slice(0, 63);
    const found = existing.find((c) => c.name === name && c.status !== 'INACTIVE');
    if (found) {
      reusedChannels.push(channelName);
      mlInputChannelArns[channelName] = found.mlInputChannelArn;
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

async function all<R, I>(page: (nextToken?: string) => Promise<R & { nextToken?: string }>, items: (r: R) => I[]): Promise<I[]> {
  const out: I[] = [];
  let nextToken: string | undefined;
  do {
    const r = await page(nextToken);
    out.push(...items(r));
    nextToken = r.nextToken;
  } while (nextToken);
  return out;
}
