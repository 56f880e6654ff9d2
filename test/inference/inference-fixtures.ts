import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import type { PrivacyConfiguration } from '../../src/api/generated/types.js';
import { MEMBERSHIP, ROLE_ARN, tempDataFolder, waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);
const EXAMPLE = join(import.meta.dirname, '../../examples/algorithms/linear-regression');
/** Test images carry this label, so that what the tests built is known as theirs. */
const TEST_LABEL = 'crml.test=inference';

/** The linear-regression example (training and its inference server), built under a test tag of its own. */
export const LINEAR_REGRESSION_IMAGE = 'crml-test-inference/linear-regression:latest';
/** An image whose `serve` never listens: /ping is never answered. */
export const NEVER_PING_IMAGE = 'crml-test-inference/never-ping:latest';
/** A server that reports what its container can reach (fixtures/netcheck.py). */
export const NETCHECK_IMAGE = 'crml-test-inference/netcheck:latest';

async function build(tag: string, context: string, args: string[] = []): Promise<void> {
  await run('docker', ['build', '-q', '--label', TEST_LABEL, '-t', tag, ...args, context], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    timeout: 300_000,
  });
}

/** Builds the test images (cached by the engine: fast when nothing changed). */
export async function buildInferenceImages(): Promise<void> {
  await build(LINEAR_REGRESSION_IMAGE, EXAMPLE, ['--build-arg', 'BASE_IMAGE=crml-local/python-numpy:bookworm']);
  const scratch = mkdtempSync(join(tmpdir(), 'crml-inference-images-'));
  try {
    writeFileSync(join(scratch, 'Dockerfile'), 'FROM crml-examples/probe:latest\nENTRYPOINT ["/bin/sh", "-c", "sleep 3600", "--"]\n');
    await build(NEVER_PING_IMAGE, scratch);
    copyFileSync(join(import.meta.dirname, 'fixtures/netcheck.py'), join(scratch, 'netcheck.py'));
    writeFileSync(
      join(scratch, 'Dockerfile'),
      'FROM crml-local/python-numpy:bookworm\nCOPY netcheck.py /netcheck.py\nENTRYPOINT ["python3", "/netcheck.py"]\n',
    );
    await build(NETCHECK_IMAGE, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The data set's known coefficients: target = 2·x1 − 3·x2 + 0.5·x3 + 1 + noise (examples/…/data/make_data.py). */
export function expectedTarget(x: number[]): number {
  return 2 * x[0]! - 3 * x[1]! + 0.5 * x[2]! + 1;
}

/** Rows of three features each, deterministic: the inference input. */
export function featureRows(count: number): number[][] {
  const rows: number[][] = [];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.round(((seed / 2 ** 31) * 4 - 2) * 1e6) / 1e6;
  };
  for (let i = 0; i < count; i++) rows.push([next(), next(), next()]);
  return rows;
}

export function csvOf(rows: number[][]): string {
  return rows.map((r) => r.map((v) => v.toFixed(6)).join(',')).join('\n') + '\n';
}

/**
 * Algorithm (linear-regression training, `inferenceImage` for inference) → association → trained model, ACTIVE.
 */
export async function trainedLinearRegression(
  service: CleanRoomsMLLocal,
  opts: { inferenceImage?: string; privacyConfiguration?: PrivacyConfiguration } = {},
): Promise<{ trainedModelArn: string; associationArn: string }> {
  const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
    name: 'linear-regression',
    roleArn: ROLE_ARN,
    trainingContainerConfig: { imageUri: LINEAR_REGRESSION_IMAGE, metricDefinitions: [] },
    inferenceContainerConfig: { imageUri: opts.inferenceImage ?? LINEAR_REGRESSION_IMAGE },
  });
  const { configuredModelAlgorithmAssociationArn: associationArn } = await service.createConfiguredModelAlgorithmAssociation({
    membershipIdentifier: MEMBERSHIP,
    configuredModelAlgorithmArn,
    name: 'linear-regression',
    privacyConfiguration: opts.privacyConfiguration,
  });
  const train = await inputChannel(service, associationArn, join(EXAMPLE, 'data/train'), 'train');
  const { trainedModelArn } = await service.createTrainedModel({
    membershipIdentifier: MEMBERSHIP,
    name: 'lr',
    configuredModelAlgorithmAssociationArn: associationArn,
    resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
    hyperparameters: { epochs: '40', learning_rate: '0.1' },
    dataChannels: [{ channelName: 'train', mlInputChannelArn: train }],
  });
  const model = await waitForStatus(service, trainedModelArn);
  if (model.status !== 'ACTIVE') throw new Error(`training failed: ${JSON.stringify(model.statusDetails)}`);
  return { trainedModelArn, associationArn };
}

export async function inputChannel(service: CleanRoomsMLLocal, associationArn: string, path: string = tempDataFolder(), name = 'input'): Promise<string> {
  const { mlInputChannelArn } = await service.createMLInputChannel({
    membershipIdentifier: MEMBERSHIP,
    name,
    retentionInDays: 1,
    configuredModelAlgorithmAssociations: [associationArn],
    inputChannel: { roleArn: ROLE_ARN, dataSource: { localDataSource: { path } } },
  });
  return mlInputChannelArn;
}

const TERMINAL = ['ACTIVE', 'CREATE_FAILED', 'INACTIVE', 'CANCEL_FAILED'];

/** Polls GetTrainedModelInferenceJob until `until` holds (by default: a final status). */
export async function waitForInferenceJob(
  service: CleanRoomsMLLocal,
  arn: string,
  until: (status: string) => boolean = (s) => TERMINAL.includes(s),
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await service.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
    if (until(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`inference job still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Containers of the engine that carry a label (`key=value`), running or not. */
export async function containersLabelled(label: string): Promise<string[]> {
  const r = await run('docker', ['ps', '-aq', '--filter', `label=${label}`]);
  return r.stdout.split('\n').filter(Boolean);
}
