import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { crml } from '../helpers/crml-cli.js';
import { MEMBERSHIP, tempDataFolder, tempService, until } from '../helpers/fixtures.js';
import {
  buildInferenceImages,
  containersLabelled,
  csvOf,
  featureRows,
  inputChannel,
  NETCHECK_IMAGE,
  NEVER_PING_IMAGE,
  trainedLinearRegression,
} from '../inference/inference-fixtures.js';
import { LABEL_INFERENCE_JOB } from '../../src/inference/inference-labels.js';
import { SqliteCapacityLedger } from '../../src/runner/capacity-ledger.js';
import { hostCapacity } from '../../src/runner/resource-limits.js';

describe('crml start-trained-model-inference-job', () => {
  let setup: ReturnType<typeof tempService>;
  let model: { trainedModelArn: string; associationArn: string };
  let slow: { trainedModelArn: string; associationArn: string };

  beforeAll(async () => {
    await buildInferenceImages();
    setup = tempService({ reconcile: false });
    model = await trainedLinearRegression(setup);
    slow = await trainedLinearRegression(setup, { inferenceImage: NETCHECK_IMAGE });
  }, 300_000);
  afterAll(async () => {
    await setup?.[Symbol.asyncDispose]();
  });

  const args = (name: string, trainedModelArn: string, channel: string) => [
    'start-trained-model-inference-job', '--name', name, '--trained-model-arn', trainedModelArn,
    '--resource-config', '{"instanceType": "ml.m5.large"}',
    '--output-configuration', '{"members": [{"accountId": "123456789012"}]}',
    '--data-source', JSON.stringify({ mlInputChannelArn: channel }),
  ];

  it('runs the job in the CLI process to its end, then crml artifacts and crml logs read it by name', async () => {
    const channel = await inputChannel(setup, model.associationArn, tempDataFolder({ 'x.csv': csvOf(featureRows(10)) }));
    const run = crml(setup.dataDir, args('cli-predict', model.trainedModelArn, channel));
    expect(await run.exited).toBe(0);
    const arn = JSON.parse(run.out.stdout).trainedModelInferenceJobArn as string;
    expect(run.out.stderr).toContain(`Running inference job ${arn} in this process; Ctrl-C cancels it.`);
    expect(run.out.stderr).toContain('Inference job ACTIVE');

    const to = tempDataFolder({});
    const artifacts = crml(setup.dataDir, ['artifacts', 'cli-predict', '--to', to]);
    expect(await artifacts.exited).toBe(0);
    expect(artifacts.out.stdout.trim()).toBe(join(to, 'output.tar.gz'));
    expect(existsSync(join(to, 'output.tar.gz'))).toBe(true);
    const logs = crml(setup.dataDir, ['logs', arn]);
    expect(await logs.exited).toBe(0);
    expect(logs.out.stdout).toMatch(/ algo-1 stdout invocation bytes=\d+ records=10\n/);
  }, 120_000);

  it('gives each container CRML_INFERENCE_PING_TIMEOUT_SECONDS to answer /ping: an image that never answers fails, naming that time', async () => {
    const never = await trainedLinearRegression(setup, { inferenceImage: NEVER_PING_IMAGE });
    const channel = await inputChannel(setup, never.associationArn, tempDataFolder({ 'x.csv': csvOf(featureRows(3)) }));
    const started = Date.now();
    const run = crml(setup.dataDir, args('cli-never', never.trainedModelArn, channel), { CRML_INFERENCE_PING_TIMEOUT_SECONDS: '2' });
    expect(await run.exited).toBe(0);
    const arn = JSON.parse(run.out.stdout).trainedModelInferenceJobArn as string;
    const reason = 'The inference container on algo-1 did not answer GET /ping with 200 on port 8080 within 2 seconds (it never answered); CRML_INFERENCE_PING_TIMEOUT_SECONDS sets that time.';
    expect(run.out.stderr).toContain(`Inference job CREATE_FAILED: ALGORITHM_ERROR ${reason}`);
    const job = await setup.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
    expect(job).toMatchObject({ status: 'CREATE_FAILED', statusDetails: { statusCode: 'ALGORITHM_ERROR', message: reason } });
    // Well short of the default 240 s.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
  }, 180_000);

  it('a cancel from another process stops the job that this one runs: INACTIVE, and no container left', async () => {
    const channel = await inputChannel(setup, slow.associationArn, tempDataFolder({ 'slow.csv': 'gateway:9\n'.repeat(30) }));
    const run = crml(setup.dataDir, args('cli-cancel-elsewhere', slow.trainedModelArn, channel));
    await until(() => run.out.stdout.includes('trainedModelInferenceJobArn'), 60_000);
    const arn = JSON.parse(run.out.stdout).trainedModelInferenceJobArn as string;
    await until(() => setup.inference.get(arn)?.status === 'CREATE_IN_PROGRESS', 60_000);
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toHaveLength(1);
    // Another terminal: its process only marks the job CANCEL_PENDING in the store; the process running it must notice.
    const cancel = crml(setup.dataDir, ['cancel-trained-model-inference-job', '--trained-model-inference-job-arn', arn]);
    expect(await cancel.exited, cancel.out.stderr).toBe(0);
    expect(await run.exited).toBe(0);
    expect(run.out.stderr).toContain('Inference job INACTIVE: CANCELLED The inference job was cancelled.');
    const job = await setup.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
    expect(job).toMatchObject({ status: 'INACTIVE', statusDetails: { statusCode: 'CANCELLED' } });
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
  }, 120_000);

  it('a cancel from another process reaches a job that waits for room in CREATE_PENDING: INACTIVE, never started', async () => {
    // This process holds the whole host in the data folder's ledger: the CLI's job waits.
    const ledger = SqliteCapacityLedger.open(join(setup.dataDir, 'capacity.sqlite'));
    const host = hostCapacity();
    const lease = ledger.tryAcquire({ cpus: host.cpus, memoryBytes: host.memoryBytes }, host);
    expect(lease).toBeDefined();
    try {
      const channel = await inputChannel(setup, model.associationArn, tempDataFolder({ 'x.csv': csvOf(featureRows(3)) }));
      const run = crml(setup.dataDir, args('cli-cancel-pending', model.trainedModelArn, channel));
      await until(() => run.out.stdout.includes('trainedModelInferenceJobArn'), 60_000);
      const arn = JSON.parse(run.out.stdout).trainedModelInferenceJobArn as string;
      await new Promise((r) => setTimeout(r, 2000));
      expect(setup.inference.get(arn)?.status).toBe('CREATE_PENDING');
      const cancel = crml(setup.dataDir, ['cancel-trained-model-inference-job', '--trained-model-inference-job-arn', arn]);
      expect(await cancel.exited, cancel.out.stderr).toBe(0);
      expect(await run.exited).toBe(0);
      expect(run.out.stderr).toContain('Inference job INACTIVE: CANCELLED');
      expect(setup.inference.get(arn)).toMatchObject({ status: 'INACTIVE', statusDetails: { statusCode: 'CANCELLED' } });
      expect(setup.inference.get(arn)?.inferenceContainerImageDigest).toBeUndefined();
    } finally {
      if (lease) ledger.release(lease);
      ledger.close();
    }
  }, 120_000);

  it('Ctrl-C cancels the job: INACTIVE, and no container left', async () => {
    const channel = await inputChannel(setup, slow.associationArn, tempDataFolder({ 'slow.csv': 'gateway:9\n'.repeat(30) }));
    const run = crml(setup.dataDir, args('cli-cancel', slow.trainedModelArn, channel));
    await until(() => run.out.stdout.includes('trainedModelInferenceJobArn'), 60_000);
    const arn = JSON.parse(run.out.stdout).trainedModelInferenceJobArn as string;
    await until(() => setup.inference.get(arn)?.status === 'CREATE_IN_PROGRESS', 60_000);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out.stderr).toContain('Inference job INACTIVE: CANCELLED');
    const job = await setup.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
    expect(job.status).toBe('INACTIVE');
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
  }, 120_000);
});
