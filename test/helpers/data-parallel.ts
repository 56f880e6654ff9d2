import { join } from 'node:path';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import { MEMBERSHIP, trainingSetup } from './fixtures.js';

export const DATA_PARALLEL_IMAGE = 'crml-examples/data-parallel:latest';
export const DATA_PARALLEL_DATA = join(import.meta.dirname, '../../examples/algorithms/data-parallel/data/train');

/**
 * Creates a trained model of the data-parallel example on 3 instances (its train channel ShardedByS3Key, its
 * loss as the metric `train:loss`), on whatever engine `service` places runs: the same request for one engine and
 * for the swarm.
 */
export async function createDataParallelModel(service: CleanRoomsMLLocal, name: string, hyperparameters: Record<string, string> = { epochs: '30' }) {
  const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
    imageUri: DATA_PARALLEL_IMAGE,
    metricDefinitions: [{ name: 'train:loss', regex: 'train_loss=([0-9.eE+-]+)' }],
    dataDir: DATA_PARALLEL_DATA,
  });
  return service.createTrainedModel({
    membershipIdentifier: MEMBERSHIP,
    name,
    configuredModelAlgorithmAssociationArn,
    resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 3 },
    hyperparameters,
    dataChannels: [{ channelName: 'train', mlInputChannelArn, s3DataDistributionType: 'ShardedByS3Key' }],
  });
}
