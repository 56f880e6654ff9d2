import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanRoomsMLLocal, type CleanRoomsMLLocalOptions } from '../../src/api/service.js';
import { DEFAULT_MEMBERSHIP_ID } from '../../src/settings.js';
import type { PrivacyConfiguration } from '../../src/api/generated/types.js';

export const MEMBERSHIP = DEFAULT_MEMBERSHIP_ID;
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/cleanrooms-ml-test';

/** A service over a fresh data folder that removes itself on dispose (`await using`). */
export function tempService(options: CleanRoomsMLLocalOptions = {}): CleanRoomsMLLocal & AsyncDisposable & { dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'crml-test-'));
  const service = new CleanRoomsMLLocal({ ...options, settings: { dataDir, ...options.settings } });
  return Object.assign(service, {
    dataDir,
    async [Symbol.asyncDispose]() {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** A folder with a couple of CSV files, removed by the caller's dispose. */
export function tempDataFolder(files: Record<string, string> = { 'data.csv': '1,2\n3,4\n' }): string & {} {
  const dir = mkdtempSync(join(tmpdir(), 'crml-data-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** Algorithm → association → one local channel named `train`: the common start of a training test. */
export async function trainingSetup(
  service: CleanRoomsMLLocal,
  opts: {
    imageUri?: string;
    metricDefinitions?: { name: string; regex: string }[];
    dataDir?: string;
    entrypoint?: string[];
    arguments?: string[];
    privacyConfiguration?: PrivacyConfiguration;
  } = {},
) {
  const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
    name: 'algo',
    roleArn: ROLE_ARN,
    trainingContainerConfig: {
      imageUri: opts.imageUri ?? 'crml-examples/probe:latest',
      metricDefinitions: opts.metricDefinitions,
      entrypoint: opts.entrypoint,
      arguments: opts.arguments,
    },
  });
  const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
    membershipIdentifier: MEMBERSHIP,
    configuredModelAlgorithmArn,
    name: 'assoc',
    privacyConfiguration: opts.privacyConfiguration,
  });
  const { mlInputChannelArn } = await service.createMLInputChannel({
    membershipIdentifier: MEMBERSHIP,
    name: 'train',
    retentionInDays: 1,
    configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
    inputChannel: { roleArn: ROLE_ARN, dataSource: { localDataSource: { path: opts.dataDir ?? tempDataFolder() } } },
  });
  return { configuredModelAlgorithmArn, configuredModelAlgorithmAssociationArn, mlInputChannelArn };
}

/** Polls GetTrainedModel until the status is terminal (or `until` matches). */
export async function waitForStatus(
  service: CleanRoomsMLLocal,
  trainedModelArn: string,
  until: (status: string) => boolean = (s) => ['ACTIVE', 'CREATE_FAILED', 'INACTIVE', 'CANCEL_FAILED', 'DELETE_FAILED'].includes(s),
  timeoutMs = 120_000,
  versionIdentifier?: string,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn, versionIdentifier });
    if (until(m.status)) return m;
    if (Date.now() > deadline) throw new Error(`trained model still ${m.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `check` every 100 ms until it holds; throws after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
