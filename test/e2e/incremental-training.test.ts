import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { ConflictException, ResourceNotFoundException, ValidationException } from '../../src/api/generated/errors.js';

const LR_DATA = join(import.meta.dirname, '../../examples/algorithms/linear-regression/data/train');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('incremental training and trained model versions (real linear-regression containers)', () => {
  it('trains a new version from the base model artifacts, and from a named version, under the same ARN', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      imageUri: 'crml-examples/linear-regression:latest',
      metricDefinitions: [{ name: 'train:loss', regex: 'train_loss=([0-9.eE+-]+)' }],
      dataDir: LR_DATA,
    });
    const common = {
      membershipIdentifier: MEMBERSHIP,
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large' as const, volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    };
    const created = await service.createTrainedModel({ ...common, name: 'lr', hyperparameters: { epochs: '20', learning_rate: '0.01' } });
    expect(created.versionIdentifier).toBeUndefined();
    const { trainedModelArn } = created;
    const base = await waitForStatus(service, trainedModelArn);
    expect(base.status).toBe('ACTIVE');
    expect(base.versionIdentifier).toBeUndefined();
    const baseLosses = service.store.readMetricPoints(trainedModelArn, '').map((p) => p.value);

    // A new version, from the latest version (the base): same ARN, a version identifier.
    const v2 = await service.createTrainedModel({
      ...common,
      name: 'lr-more',
      hyperparameters: { epochs: '3', learning_rate: '0.01' },
      incrementalTrainingDataChannels: [{ trainedModelArn, channelName: 'model' }],
    });
    expect(v2.trainedModelArn).toBe(trainedModelArn);
    expect(v2.versionIdentifier).toMatch(UUID);
    const second = await waitForStatus(service, trainedModelArn, undefined, 120_000, v2.versionIdentifier);
    expect(second.status).toBe('ACTIVE');
    expect(second.versionIdentifier).toBe(v2.versionIdentifier);
    expect(second.incrementalTrainingDataChannels).toEqual([{ channelName: 'model', modelName: 'lr' }]);

    // The container got the base's model.tar.gz as channel `model` and started from its weights.
    const lines = service.store.readLogLines(trainedModelArn, v2.versionIdentifier!).map((l) => l.text);
    expect(lines).toContainEqual(expect.stringMatching(/^warm start from channel 'model': a base model trained 20 epochs/));
    const v2Losses = service.store.readMetricPoints(trainedModelArn, v2.versionIdentifier!).map((p) => p.value);
    expect(v2Losses).toHaveLength(3);
    expect(v2Losses[0]!).toBeLessThan(baseLosses[0]!);
    expect(v2Losses[0]!).toBeLessThanOrEqual(baseLosses.at(-1)! * 1.05);
    const modelOf = (versionDir: string) =>
      JSON.parse(
        execFileSync('tar', ['-xzOf', join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, versionDir, 'model.tar.gz'), 'model.json'], {
          encoding: 'utf8',
        }),
      );
    expect(modelOf(v2.versionIdentifier!).epochs_completed).toBe(23);
    // The hard link the run read is gone once it ended; the base's own artifacts are untouched.
    expect(existsSync(join(service.dataDir, 'inputs', trainedModelArn.split('/').pop()!, v2.versionIdentifier!))).toBe(false);
    expect(modelOf('base').epochs_completed).toBe(20);

    // Without a version identifier, GetTrainedModel answers the latest version.
    const latest = await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    expect(latest.versionIdentifier).toBe(v2.versionIdentifier);
    expect(latest.name).toBe('lr-more');

    // A third version from the second one, named.
    const v3 = await service.createTrainedModel({
      ...common,
      name: 'lr-again',
      hyperparameters: { epochs: '2', learning_rate: '0.01' },
      incrementalTrainingDataChannels: [{ trainedModelArn, versionIdentifier: v2.versionIdentifier, channelName: 'base-model' }],
    });
    const third = await waitForStatus(service, trainedModelArn, undefined, 120_000, v3.versionIdentifier);
    expect(third.status).toBe('ACTIVE');
    expect(third.incrementalTrainingDataChannels).toEqual([
      { channelName: 'base-model', versionIdentifier: v2.versionIdentifier, modelName: 'lr-more' },
    ]);
    expect(modelOf(v3.versionIdentifier!).epochs_completed).toBe(25);

    // Every version, newest first; the base one has no version identifier.
    const versions = await service.listTrainedModelVersions({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    expect(versions.trainedModels.map((m) => [m.versionIdentifier, m.name, m.status])).toEqual([
      [v3.versionIdentifier, 'lr-again', 'ACTIVE'],
      [v2.versionIdentifier, 'lr-more', 'ACTIVE'],
      [undefined, 'lr', 'ACTIVE'],
    ]);
    const paged = await service.listTrainedModelVersions({ membershipIdentifier: MEMBERSHIP, trainedModelArn, maxResults: 2 });
    expect(paged.trainedModels).toHaveLength(2);
    const rest = await service.listTrainedModelVersions({ membershipIdentifier: MEMBERSHIP, trainedModelArn, nextToken: paged.nextToken });
    expect(rest.trainedModels.map((m) => m.name)).toEqual(['lr']);
    const listed = await service.listTrainedModels({ membershipIdentifier: MEMBERSHIP });
    expect(listed.trainedModels.filter((m) => m.trainedModelArn === trainedModelArn)).toHaveLength(3);

    // Deleting the base version's output (no version identifier) leaves the other versions as they were.
    await service.deleteTrainedModelOutput({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    const after = await service.listTrainedModelVersions({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    expect(after.trainedModels.map((m) => m.status)).toEqual(['ACTIVE', 'ACTIVE', 'INACTIVE']);
    expect(modelOf(v3.versionIdentifier!).epochs_completed).toBe(25);
    // The latest version (v3) still has its artifacts, so a run from it starts.
    const v4 = await service.createTrainedModel({
      ...common,
      name: 'lr-v4',
      hyperparameters: { epochs: '1' },
      incrementalTrainingDataChannels: [{ trainedModelArn, channelName: 'model' }],
    });
    const fourth = await waitForStatus(service, trainedModelArn, undefined, 120_000, v4.versionIdentifier);
    expect(fourth.incrementalTrainingDataChannels).toEqual([{ channelName: 'model', versionIdentifier: v3.versionIdentifier, modelName: 'lr-again' }]);
    await service.waitForRuns();
  });

  it('refuses a base that is not ACTIVE, a version that does not exist, a clashing channel name and deleted artifacts', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const common = {
      membershipIdentifier: MEMBERSHIP,
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large' as const, volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    };
    const failed = await service.createTrainedModel({ ...common, name: 'fails', hyperparameters: { exit_code: '3' } });
    expect((await waitForStatus(service, failed.trainedModelArn)).status).toBe('CREATE_FAILED');
    const fromFailed = service.createTrainedModel({
      ...common,
      name: 'v2',
      incrementalTrainingDataChannels: [{ trainedModelArn: failed.trainedModelArn, channelName: 'model' }],
    });
    await expect(fromFailed).rejects.toBeInstanceOf(ConflictException);
    await expect(fromFailed).rejects.toThrow(/is CREATE_FAILED; incremental training needs an ACTIVE base model/);

    const ok = await service.createTrainedModel({ ...common, name: 'ok', hyperparameters: { model_text: 'weights' } });
    expect((await waitForStatus(service, ok.trainedModelArn)).status).toBe('ACTIVE');
    const missingVersion = service.createTrainedModel({
      ...common,
      name: 'v2',
      incrementalTrainingDataChannels: [
        { trainedModelArn: ok.trainedModelArn, versionIdentifier: '00000000-0000-4000-8000-00000000dead', channelName: 'model' },
      ],
    });
    await expect(missingVersion).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(missingVersion).rejects.toThrow(/has no version 00000000-0000-4000-8000-00000000dead/);
    await expect(
      service.createTrainedModel({
        ...common,
        name: 'v2',
        incrementalTrainingDataChannels: [{ trainedModelArn: ok.trainedModelArn, channelName: 'train' }],
      }),
    ).rejects.toThrow(ValidationException);

    await service.deleteTrainedModelOutput({ membershipIdentifier: MEMBERSHIP, trainedModelArn: ok.trainedModelArn });
    await expect(
      service.createTrainedModel({
        ...common,
        name: 'v2',
        incrementalTrainingDataChannels: [{ trainedModelArn: ok.trainedModelArn, channelName: 'model' }],
      }),
    ).rejects.toThrow(/is INACTIVE; incremental training needs an ACTIVE base model/);
    // Nothing was stored by the refused requests.
    const versions = await service.listTrainedModelVersions({ membershipIdentifier: MEMBERSHIP, trainedModelArn: ok.trainedModelArn });
    expect(versions.trainedModels).toHaveLength(1);
  });
});
