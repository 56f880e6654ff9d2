import { describe, expect, it } from 'vitest';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, tempService, trainingSetup } from '../helpers/fixtures.js';

describe("following a trained model's logs in the process that runs it", () => {
  it('delivers each line and ends with the run as they are written, not a poll interval later', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const runner = new ScriptedRunner(async (_spec, events) => {
      await gate;
      events.onLogLine({ time: new Date(), stream: 'stdout', host: 'algo-1', text: 'the only line' });
      return {};
    });
    await using service = tempService({ runner });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'm', configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    // A poll interval far longer than the test may take: only the store's own wake-up can end it in time.
    const seen: string[] = [];
    const following = (async () => {
      for await (const l of service.trainedModelLogs({ membershipIdentifier: MEMBERSHIP, trainedModelArn, follow: true, pollIntervalMs: 60_000 })) seen.push(l.text);
    })();
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    release();
    await following;
    expect(seen).toEqual(['the only line']);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn })).status).toBe('ACTIVE');
  });
});
