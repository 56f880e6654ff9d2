import { describe, expect, it } from 'vitest';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, tempDataFolder, tempService, trainingSetup } from '../helpers/fixtures.js';

/** No lab: the refusal is about the settings (CRML_ENGINE=swarm), decided before any runner is asked. */
const REFUSED = /^1 validation error detected: Value 'Pipe' at 'trainingInputMode' failed to satisfy constraint: Pipe is not offered on a Docker Swarm placement \(CRML_ENGINE=swarm\)/;
const resourceConfig = { instanceType: 'ml.m5.large' as const, volumeSizeInGB: 1, instanceCount: 2 };

describe('CRML_ENGINE=swarm: Pipe mode is refused at create, before anything exists', () => {
  it('CreateTrainedModel with trainingInputMode Pipe is a ValidationException naming the input mode and the placement; no trained model', async () => {
    const runner = new ScriptedRunner();
    await using service = tempService({ runner, settings: { placement: 'swarm' } });
    const setup = await trainingSetup(service);
    const create = (trainingInputMode: 'Pipe' | 'File') =>
      service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP,
        name: `pipe-${trainingInputMode}`,
        configuredModelAlgorithmAssociationArn: setup.configuredModelAlgorithmAssociationArn,
        resourceConfig,
        trainingInputMode,
        dataChannels: [{ channelName: 'train', mlInputChannelArn: setup.mlInputChannelArn }],
      });
    await expect(create('Pipe')).rejects.toMatchObject({ name: 'ValidationException', httpStatusCode: 400, message: expect.stringMatching(REFUSED) });
    expect((await service.listTrainedModels({ membershipIdentifier: MEMBERSHIP })).trainedModels).toEqual([]);
    // File is fine on a swarm, and Pipe is fine on one engine.
    await expect(create('File')).resolves.toMatchObject({ trainedModelArn: expect.any(String) });
    await using single = tempService({ runner: new ScriptedRunner() });
    const other = await trainingSetup(single);
    await expect(
      single.createTrainedModel({
        membershipIdentifier: MEMBERSHIP,
        name: 'pipe-on-one-engine',
        configuredModelAlgorithmAssociationArn: other.configuredModelAlgorithmAssociationArn,
        resourceConfig,
        trainingInputMode: 'Pipe',
        dataChannels: [{ channelName: 'train', mlInputChannelArn: other.mlInputChannelArn }],
      }),
    ).resolves.toMatchObject({ trainedModelArn: expect.any(String) });
  });

  it('crml train (the service\'s train) refuses it the same way before it creates an algorithm or a channel', async () => {
    await using service = tempService({ runner: new ScriptedRunner(), settings: { placement: 'swarm' } });
    await expect(service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: tempDataFolder() }, instanceCount: 2, inputMode: 'Pipe' })).rejects.toThrow(REFUSED);
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms).toEqual([]);
    expect((await service.listMLInputChannels({ membershipIdentifier: MEMBERSHIP })).mlInputChannelsList).toEqual([]);
  });
});
