import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDataFolder, tempService } from '../helpers/fixtures.js';
import { awsCli, boto3Script } from '../helpers/aws-clients.js';
import { startServer, type RunningServer } from '../../src/api/http/server.js';
import { buildInferenceImages, csvOf, expectedTarget, featureRows, LINEAR_REGRESSION_IMAGE } from '../inference/inference-fixtures.js';

const MEMBERSHIP = '00000000-0000-4000-8000-000000000001';
const TRAIN = join(import.meta.dirname, '../../examples/algorithms/linear-regression/data/train/train.csv');

describe('inference and export through boto3 and the AWS CLI against crml serve', () => {
  let service: ReturnType<typeof tempService>;
  let server: RunningServer;
  const rows = featureRows(60_000);

  beforeAll(async () => {
    await buildInferenceImages();
    service = tempService();
    const input = join(tempDataFolder({ 'input.csv': csvOf(rows) }), 'input.csv');
    writeFileSync(
      join(service.dataDir, 'workspace.json'),
      JSON.stringify({ tables: { train: { path: TRAIN, header: false }, input: { path: input, header: false } } }),
    );
    server = await startServer({ service });
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    await service?.[Symbol.asyncDispose]();
  });

  it('trains linear-regression, predicts every row of a CSV channel within tolerance, lists the job and exports the model', async () => {
    const seen = (await boto3Script(join(import.meta.dirname, '../inference/boto3_inference.py'), [server.url, LINEAR_REGRESSION_IMAGE])) as Record<string, unknown>;
    expect(seen).toMatchObject({
      modelStatus: 'ACTIVE',
      job: {
        status: 'ACTIVE',
        name: 'predict',
        resourceConfig: { instanceType: 'ml.m5.xlarge', instanceCount: 2 },
        containerExecutionParameters: { maxPayloadInMB: 1 },
        outputConfiguration: { accept: 'text/csv', members: [{ accountId: '111122223333' }] },
        environment: { MODE: 'batch' },
        tags: { team: 'ml' },
        logsStatus: 'PUBLISH_SUCCEEDED',
        metricsStatus: 'PUBLISH_SUCCEEDED',
      },
      jobCreateTimeType: 'datetime',
      listed: [[true, 'ACTIVE']],
      listedOther: 0,
      collaboration: [['predict', '123456789012', false]],
      exportStatus: 'ACTIVE',
    });
    expect((seen.job as { statusDetails?: unknown }).statusDetails).toBeNull();
    expect(seen.jobDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(seen.cancelFinished).toEqual([
      'ConflictException',
      409,
      `Trained model inference job ${String(seen.jobArn)} is ACTIVE; only a job that is pending or in progress can be cancelled.`,
    ]);
    expect(seen.payloadTooLarge).toEqual([
      'ValidationException',
      400,
      "1 validation error detected: Value '11' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value less than or equal to 10",
    ]);
    expect((seen.exportAgain as unknown[])[0]).toBe('ConflictException');

    const jobId = String(seen.jobArn).split('/').pop()!;
    const out = readFileSync(join(service.dataDir, 'inference', jobId, 'output', 'part-00000.csv.out'), 'utf8').trim().split('\n').map(Number);
    expect(out).toHaveLength(rows.length);
    out.forEach((y, i) => expect(Math.abs(y - expectedTarget(rows[i]!))).toBeLessThan(0.15));

    const modelId = readdirSync(join(service.dataDir, 'exports', '111122223333'))[0]!;
    expect(readdirSync(join(service.dataDir, 'exports', '111122223333', modelId, 'to-partner'))).toEqual(['model.tar.gz']);

    const cli = await awsCli(server.url, ['get-trained-model-inference-job', '--membership-identifier', MEMBERSHIP, '--trained-model-inference-job-arn', String(seen.jobArn)]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ status: 'ACTIVE', name: 'predict' });
    const listed = await awsCli(server.url, ['list-trained-model-inference-jobs', '--membership-identifier', MEMBERSHIP]);
    expect(JSON.parse(listed.stdout).trainedModelInferenceJobs).toHaveLength(1);
  }, 300_000);
});
