import { describe, expect, it } from 'vitest';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { collectRunReport } from '../../src/report/run-report.js';
import { crml } from './scripted-runs.js';

describe('crml report on a real run (probe image, real engine)', () => {
  it("reports what the runner recorded: the registry digest, the limits applied, the channel's hash, the artifacts and the metric chart", async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+)' }],
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'probe-report',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { print_text: 'loss=0.5\\nloss=0.25\\nloss=0.125' },
      environment: { SOME_SECRET: 'not-for-reports' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    expect(model.status).toBe('ACTIVE');

    const report = await collectRunReport(service, trainedModelArn);
    expect(report.image).toEqual({ uri: 'crml-examples/probe:latest', digest: model.trainingContainerImageDigest });
    expect(report.limits).toMatchObject({ instanceType: 'ml.m5.large', requested: { vcpus: 2, memoryBytes: 8 * 1024 ** 3, gpus: 0 } });
    expect(report.channels).toEqual([{ channelName: 'train', mlInputChannelArn, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(report.artifacts.map((f) => f.split('/').pop())).toEqual(['model.tar.gz', 'output.tar.gz', 'manifest.json']);
    expect(report.exitCode).toBe(0);
    expect(report.durationMs).toBeGreaterThan(0);
    expect(report.metrics).toEqual([{ metric: 'loss', host: 'algo-1', times: expect.any(Array), values: [0.5, 0.25, 0.125] }]);
    expect(report.environmentNames).toEqual(['SOME_SECRET']);
    expect(JSON.stringify(report)).not.toContain('not-for-reports');
    expect(report.timeline.map((t) => t.status)).toEqual(['CREATE_PENDING', 'CREATE_IN_PROGRESS', 'ACTIVE']);

    const { code, stdout } = await crml(service.dataDir, ['report', trainedModelArn.split('/').pop()!]);
    expect(code).toBe(0);
    expect(stdout).toContain('loss · algo-1 · 3 points · last 0.125 (min 0.125, max 0.5)\n');
    expect(stdout).toMatch(new RegExp(`Image digest\\s+${model.trainingContainerImageDigest}\n`));
    expect(stdout).toMatch(/Channels\s+train {2}sha256:[0-9a-f]{64}\n/);
    expect(stdout).toMatch(/Limits applied\s+\d+ vCPUs, [\d.]+ GiB memory, 0 GPUs/);
    expect(stdout).not.toContain('not-for-reports');
  });
});
