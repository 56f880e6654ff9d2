import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
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

/**
 * What a user checks of a data-parallel run that ended ACTIVE: each host saw the other two, all agree on the
 * loss of every one of the 30 epochs, and algo-1's model.json names every host. Returns the losses of algo-1.
 */
export function expectDataParallelTrained(service: CleanRoomsMLLocal & { dataDir: string }, trainedModelArn: string): number[] {
  const lines = service.store.readLogLines(trainedModelArn, '');
  const hosts = ['algo-1', 'algo-2', 'algo-3'];
  for (const host of hosts) {
    const saw = lines.filter((l) => l.host === host && l.text.startsWith(`host ${host} saw peer `)).map((l) => l.text.split(' ').at(-1));
    expect(saw.sort(), host).toEqual(hosts.filter((h) => h !== host));
  }
  const losses = (host: string) => service.store.readMetricPoints(trainedModelArn, '').filter((p) => p.host === host).map((p) => p.value);
  expect(losses('algo-1')).toHaveLength(30);
  expect(losses('algo-2')).toEqual(losses('algo-1'));
  expect(losses('algo-3')).toEqual(losses('algo-1'));
  const saved = JSON.parse(
    execFileSync('tar', ['-xzOf', join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, 'base', 'model.tar.gz'), 'model.json'], { encoding: 'utf8' }),
  ) as { hosts: string[] };
  expect(saved.hosts).toEqual(hosts);
  return losses('algo-1');
}
