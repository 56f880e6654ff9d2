import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEMBERSHIP, ROLE_ARN, tempService, waitForStatus } from '../helpers/fixtures.js';

const LR_TRAIN = join(import.meta.dirname, '../../examples/algorithms/linear-regression/data/train/train.csv');

describe('a channel made by SQL over local tables feeds a real training run', () => {
  it('joins two CSV tables (features and labels by id) into the channel that trains linear-regression to ACTIVE', async () => {
    // The example's rows split into two tables that only a join puts back together; labels in another order.
    const rows = readFileSync(LR_TRAIN, 'utf8').trim().split('\n').map((l) => l.split(','));
    const tables = mkdtempSync(join(tmpdir(), 'crml-tables-'));
    writeFileSync(join(tables, 'features.csv'), `id,x1,x2,x3\n${rows.map((r, i) => [i, r[0], r[1], r[2]].join(',')).join('\n')}\n`);
    writeFileSync(join(tables, 'labels.csv'), `id,y\n${rows.map((r, i) => [i, r[3]].join(',')).reverse().join('\n')}\n`);
    const workspaceFile = join(tables, 'workspace.json');
    writeFileSync(workspaceFile, JSON.stringify({ tables: { features: 'features.csv', labels: 'labels.csv' } }));
    await using service = tempService({ settings: { workspaceFile } });
    try {
      const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
        name: 'lr',
        roleArn: ROLE_ARN,
        trainingContainerConfig: {
          imageUri: 'crml-examples/linear-regression:latest',
          metricDefinitions: [{ name: 'train:loss', regex: 'train_loss=([0-9.eE+-]+)' }],
        },
      });
      const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
        membershipIdentifier: MEMBERSHIP,
        configuredModelAlgorithmArn,
        name: 'lr',
      });
      const { mlInputChannelArn } = await service.createMLInputChannel({
        membershipIdentifier: MEMBERSHIP,
        name: 'joined',
        retentionInDays: 1,
        configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
        inputChannel: {
          roleArn: ROLE_ARN,
          dataSource: {
            protectedQueryInputParameters: {
              sqlParameters: { queryString: 'SELECT f.x1, f.x2, f.x3, l.y FROM features f JOIN labels l ON f.id = l.id ORDER BY f.id' },
              resultFormat: 'CSV',
            },
          },
        },
      });
      await service.waitForChannels();
      const channel = await service.getMLInputChannel({ membershipIdentifier: MEMBERSHIP, mlInputChannelArn });
      expect(channel.status, channel.statusDetails?.message).toBe('ACTIVE');
      expect(channel.numberOfRecords).toBe(rows.length);

      const { trainedModelArn } = await service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP,
        name: 'from-sql',
        configuredModelAlgorithmAssociationArn,
        resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
        hyperparameters: { epochs: '10' },
        dataChannels: [{ channelName: 'train', mlInputChannelArn }],
      });
      const model = await waitForStatus(service, trainedModelArn);
      expect(model.status, JSON.stringify(model.statusDetails)).toBe('ACTIVE');
      const losses = service.store.readMetricPoints(trainedModelArn, '').map((p) => p.value);
      expect(losses).toHaveLength(10);
      // The target is 2·x1 − 3·x2 + 0.5·x3 + 1 + noise: learnt only if every row kept its own label.
      expect(losses.at(-1)!).toBeLessThan(0.05);
    } finally {
      rmSync(tables, { recursive: true, force: true });
    }
  });
});
