import { describe, expect, it } from 'vitest';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { leftOnLab, MANAGER, useSwarmLab } from './swarm-lab.js';

const PROBE = 'crml-examples/probe:latest';

useSwarmLab();

/** The words of a single-engine run over its cap (test/runner/volume-at-exit.test.ts), with the host of a cluster. */
const overCap = (host: string) => new RegExp(`^The job wrote 1\\.\\d\\d GB to its volume on ${host}, more than resourceConfig\\.volumeSizeInGB \\(1 GB\\)\\.$`);

describe('CRML_ENGINE=swarm: resourceConfig.volumeSizeInGB is checked on the nodes, as on one engine', () => {
  async function runOverCap(name: string, settings: Record<string, unknown>, hyperparameters: Record<string, string>) {
    await using service = tempService({ settings: { placement: 'swarm', engine: { dockerHost: MANAGER }, stopGracePeriodMs: 1000, ...settings } });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: PROBE });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name,
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 2 },
      hyperparameters: { fill_mb: '1300', ...hyperparameters },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn, undefined, 180_000);
    return { model, left: leftOnLab(trainedModelArn) };
  }

  it('stops a job that writes past its cap into its node volume while it runs', async () => {
    const started = Date.now();
    const { model, left } = await runOverCap('swarm-volume-live', { volumeCheckIntervalMs: 1000 }, { sleep_seconds: '300' });
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('ALGORITHM_ERROR');
    // Both hosts fill their volumes; the live check names whichever it caught first.
    expect(model.statusDetails?.message).toMatch(overCap('algo-[12]'));
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(left).toEqual([]);
  });

  it('fails a job that wrote past its cap and exited before any live check', async () => {
    const { model, left } = await runOverCap('swarm-volume-exit', { volumeCheckIntervalMs: 3_600_000 }, {});
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('ALGORITHM_ERROR');
    // Once every task has exited, the hosts are read in order: algo-1 first, as on one engine.
    expect(model.statusDetails?.message).toMatch(overCap('algo-1'));
    expect(left).toEqual([]);
  });
});
