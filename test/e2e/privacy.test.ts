import { describe, expect, it } from 'vitest';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';

const OTHER = '210987654321';
const SEQUENCE = [
  'epoch=1 loss=0.9 user=alice@example.com',
  'ERROR batch 17 failed: card 4111 1111 1111 1111 rejected',
  'epoch=2 loss=0.5 token=XYZ-123',
  'Traceback (most recent call last):',
  '  File "train.py", line 42, in <module>',
  'ValueError: bad row 99 from 10.1.2.3 token=XYZ-999',
  'epoch=3 loss=0.25',
].join('\\n');

async function collect(service: CleanRoomsMLLocal, trainedModelArn: string, asAccountId?: string) {
  const out: string[] = [];
  for await (const l of service.trainedModelLogs({ membershipIdentifier: MEMBERSHIP, trainedModelArn, asAccountId })) out.push(l.text);
  return out;
}

describe('logs and metrics as each member sees them', () => {
  it('shows another account only the filtered, redacted error summary; the owner sees the raw lines', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+)' }],
      privacyConfiguration: {
        policies: {
          trainedModels: {
            containerLogs: [
              {
                allowedAccountIds: [OTHER],
                logType: 'ERROR_SUMMARY',
                filterPattern: '?ERROR ?ValueError',
                logRedactionConfiguration: {
                  entitiesToRedact: ['NUMBERS', 'CUSTOM'],
                  customEntityConfig: { customDataIdentifiers: ['XYZ-[0-9]+'] },
                },
              },
            ],
            containerMetrics: { noiseLevel: 'HIGH' },
          },
        },
      },
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'private',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { print_text: SEQUENCE },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    expect((await waitForStatus(service, trainedModelArn)).status).toBe('ACTIVE');

    const raw = await collect(service, trainedModelArn);
    expect(raw).toEqual(SEQUENCE.split('\\n'));

    const seen = await collect(service, trainedModelArn, OTHER);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^ERROR batch <NUMBER> failed/);
    expect(seen[1]).toMatch(/^ValueError: bad row <NUMBER>/);
    expect(seen[1]).toContain('<CUSTOM>');
    expect(seen.join('\n')).not.toMatch(/[0-9]/);

    await expect(collect(service, trainedModelArn, '999999999999')).rejects.toMatchObject({ name: 'AccessDeniedException' });

    const mine = await service.trainedModelMetrics({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    expect(mine.map((p) => p.value)).toEqual([0.9, 0.5, 0.25]);
    const theirs = await service.trainedModelMetrics({ membershipIdentifier: MEMBERSHIP, trainedModelArn, asAccountId: OTHER });
    expect(theirs).toHaveLength(3);
    expect(theirs.map((p) => p.value)).not.toEqual([0.9, 0.5, 0.25]);
    expect((await service.trainedModelMetrics({ membershipIdentifier: MEMBERSHIP, trainedModelArn })).map((p) => p.value)).toEqual([0.9, 0.5, 0.25]);
  });

  it('fails a run whose artifacts exceed the association maxArtifactSize', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      privacyConfiguration: { policies: { trainedModels: { maxArtifactSize: { unit: 'GB', value: 0.01 } } } },
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'big-model',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { write_mb: '12' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const done = await waitForStatus(service, trainedModelArn);
    expect(done.status).toBe('CREATE_FAILED');
    expect(done.statusDetails?.message).toMatch(/maxArtifactSize|artifact/i);
  });
});
