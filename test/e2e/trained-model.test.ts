import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBERSHIP, tempDataFolder, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';

const LR_DATA = join(import.meta.dirname, '../../examples/algorithms/linear-regression/data/train');

describe('a trained model end to end (service → real container → store)', () => {
  it('trains linear-regression to ACTIVE with its digest, metrics and a model.tar.gz holding what it wrote', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      imageUri: 'crml-examples/linear-regression:latest',
      metricDefinitions: [{ name: 'train:loss', regex: 'train_loss=([0-9.eE+-]+)' }],
      dataDir: LR_DATA,
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'lr',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { epochs: '5' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    expect(model.status).toBe('ACTIVE');
    expect(model.trainingContainerImageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(model.metricsStatus).toBe('PUBLISH_SUCCEEDED');
    const losses = service.store.readMetricPoints(trainedModelArn, '').filter((p) => p.name === 'train:loss');
    expect(losses).toHaveLength(5);
    expect(losses[4]!.value).toBeLessThan(losses[0]!.value);
    const lines = service.store.readLogLines(trainedModelArn, '').map((l) => l.text);
    expect(lines.filter((l) => /^epoch=\d+ train_loss=/.test(l))).toHaveLength(5);
    const tarball = join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, 'base', 'model.tar.gz');
    expect(existsSync(tarball)).toBe(true);
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('model.json');
    const saved = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'model.json'], { encoding: 'utf8' }));
    expect(saved.feature_count).toBe(3);
  });

  it('ends a failing probe CREATE_FAILED with its failure text as statusDetails.message', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'fails',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { exit_code: '2', failure_text: 'label column missing in train.csv' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails).toEqual({ statusCode: 'ALGORITHM_ERROR', message: 'label column missing in train.csv' });
  });

  it('goes through CREATE_PENDING and CREATE_IN_PROGRESS, and cancels to INACTIVE with no container left', async () => {
    await using service = tempService({ settings: { stopGracePeriodMs: 2000 } });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'sleeper',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { sleep_seconds: '60' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const first = await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    expect(first.status).toBe('CREATE_PENDING');
    await waitForStatus(service, trainedModelArn, (s) => s === 'CREATE_IN_PROGRESS');
    await service.cancelTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    const done = await waitForStatus(service, trainedModelArn);
    expect(done.status).toBe('INACTIVE');
    expect(done.statusDetails?.statusCode).toBe('CANCELLED');
    const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${trainedModelArn}`], { encoding: 'utf8' });
    expect(left.trim()).toBe('');
  });

  it('trains on 3 instances with a sharded channel: each host a disjoint share, logs by host, nothing left behind', async () => {
    const files = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`part-${String(i).padStart(2, '0')}.csv`, `${i}\n`]));
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { dataDir: tempDataFolder(files) });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'cluster',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 3 },
      hyperparameters: { list_channels_to_stdout: 'true' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn, s3DataDistributionType: 'ShardedByS3Key' }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    expect(model.status).toBe('ACTIVE');
    expect(model.resourceConfig?.instanceCount).toBe(3);
    const seen = new Map<string, string[]>();
    for await (const l of service.trainedModelLogs({ membershipIdentifier: MEMBERSHIP, trainedModelArn })) {
      const m = /^channel-file (algo-\d) train\/(.+)$/.exec(l.text);
      if (m) seen.set(l.host, [...(seen.get(l.host) ?? []), m[2]!]);
    }
    expect([...seen.keys()].sort()).toEqual(['algo-1', 'algo-2', 'algo-3']);
    const all = [...seen.values()].flat().sort();
    expect(all).toEqual(Object.keys(files).sort());
    expect(new Set(all).size).toBe(10);
    const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${trainedModelArn}`], { encoding: 'utf8' });
    const networks = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=crml.trained-model=${trainedModelArn}`], { encoding: 'utf8' });
    expect(left.trim() + networks.trim()).toBe('');
  });
});
