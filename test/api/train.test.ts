import { describe, expect, it } from 'vitest';
import { train } from '../../src/api/train.js';
import { tempDataFolder, tempService, waitForStatus } from '../helpers/fixtures.js';

describe('train (one call)', () => {
  it('trains the probe image and reuses the algorithm, association and channel on a second call', async () => {
    await using service = tempService();
    const data = tempDataFolder();
    const first = await train(service, { imageUri: 'crml-examples/probe:latest', channels: { train: data } });
    expect((await waitForStatus(service, first.trainedModelArn)).status).toBe('ACTIVE');
    const second = await train(service, { imageUri: 'crml-examples/probe:latest', channels: { train: data }, name: 'again' });
    expect(second.configuredModelAlgorithmArn).toBe(first.configuredModelAlgorithmArn);
    expect(second.reused.mlInputChannels).toEqual(['train']);
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms).toHaveLength(1);
    await waitForStatus(service, second.trainedModelArn);
  }, 240_000);
});
