import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { pushImage, removeImage, startRegistry, type StartedRegistry } from '../helpers/registry.js';
import { startEcrEndpoint, type StartedEcrEndpoint } from '../helpers/ecr-endpoint.js';

/**
 * Issue 5 from a user's side: an image that lives only in an authenticated registry, reached through the ECR path
 * (the real ECRClient against a local GetAuthorizationToken endpoint that hands out that registry's password).
 */
const ECR_PASSWORD = `ecr-${randomBytes(12).toString('hex')}`;
const AWS_SECRET = `secret-${randomBytes(8).toString('hex')}`;
let registry: StartedRegistry;
let ecr: StartedEcrEndpoint;
let digest: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: { user: 'AWS', password: ECR_PASSWORD } });
  ecr = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host });
  digest = await pushImage('crml-examples/probe:latest', registry.host, 'team/probe:v1', { username: 'AWS', password: ECR_PASSWORD });
  // The SDK's standard credential chain reads these.
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE']) saved[k] = process.env[k];
  process.env.AWS_ACCESS_KEY_ID = 'AKIDCRMLTEST';
  process.env.AWS_SECRET_ACCESS_KEY = AWS_SECRET;
  delete process.env.AWS_PROFILE;
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  await removeImage(`${registry.host}/team/probe:v1`).catch(() => undefined);
  await removeImage(`${registry.host}/team/probe@${digest}`).catch(() => undefined);
  await ecr.stop();
  await registry.stop();
});

const progress: { id?: string; status: string }[] = [];

function serviceWithLog() {
  let text = '';
  const logger = pino({ level: 'trace' }, new Writable({ write(c, _e, cb) { text += String(c); cb(); } }));
  const service = tempService({
    logger,
    onPullProgress: (_arn, p) => void progress.push(p),
    settings: { ecr: { endpoint: ecr.endpoint, registries: { [registry.host]: { accountId: '123456789012', region: 'us-east-1' } } } },
  });
  return { service, log: () => text };
}

async function train(imageUri: string) {
  const { service, log } = serviceWithLog();
  const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri });
  const { trainedModelArn } = await service.createTrainedModel({
    membershipIdentifier: MEMBERSHIP, name: 'from-registry', configuredModelAlgorithmAssociationArn,
    resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
    dataChannels: [{ channelName: 'train', mlInputChannelArn }],
  });
  const model = await waitForStatus(service, trainedModelArn);
  return { service, model, log };
}

function filesContain(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!p.endsWith('.gz') && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

describe('images from an authenticated registry through ECR credentials', () => {
  it('trains ACTIVE by tag and by digest, recording the registry digest, with no secret in any log or store file', async () => {
    const byTag = await train(`${registry.host}/team/probe:v1`);
    try {
      expect(byTag.model.status).toBe('ACTIVE');
      expect(byTag.model.trainingContainerImageDigest).toBe(digest);
      expect(ecr.calls()).toBeGreaterThanOrEqual(1);
      // The pull's progress as the Docker CLI shows it (the layers are already here: the probe shares them).
      expect(progress.map((p) => p.status)).toEqual(expect.arrayContaining([`Digest: ${digest}`, expect.stringMatching(/^Pulling from team\/probe/)]));
      await removeImage(`${registry.host}/team/probe:v1`);
      const byDigest = await train(`${registry.host}/team/probe@${digest}`);
      try {
        expect(byDigest.model.status).toBe('ACTIVE');
        expect(byDigest.model.trainingContainerImageDigest).toBe(digest);
        for (const run of [byTag, byDigest]) {
          for (const secret of [ECR_PASSWORD, AWS_SECRET, Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64')]) {
            expect(run.log()).not.toContain(secret);
            await run.service.close();
            expect(filesContain(run.service.dataDir, secret)).toEqual([]);
          }
        }
      } finally {
        await byDigest.service[Symbol.asyncDispose]();
      }
    } finally {
      await byTag.service[Symbol.asyncDispose]();
    }
  });

  it('ends IMAGE_PULL_FAILED naming the cause: missing tag, missing digest, wrong password', async () => {
    const missingTag = await train(`${registry.host}/team/probe:nope`);
    expect(missingTag.model, JSON.stringify(missingTag.model)).toMatchObject({ statusDetails: { statusCode: 'IMAGE_PULL_FAILED' } });
    expect(missingTag.model.statusDetails?.message).toMatch(/manifest unknown|not found/);
    await missingTag.service[Symbol.asyncDispose]();

    const missingDigest = await train(`${registry.host}/team/probe@sha256:${'0'.repeat(64)}`);
    expect(missingDigest.model.statusDetails?.statusCode).toBe('IMAGE_PULL_FAILED');
    expect(missingDigest.model.statusDetails?.message).toMatch(/manifest unknown|not found/);
    await missingDigest.service[Symbol.asyncDispose]();

    const wrong = await startEcrEndpoint({ password: 'not-the-password', registryHost: registry.host });
    try {
      let text = '';
      const logger = pino({ level: 'silent' }, new Writable({ write(c, _e, cb) { text += String(c); cb(); } }));
      await using service = tempService({
        logger,
        settings: { ecr: { endpoint: wrong.endpoint, registries: { [registry.host]: { accountId: '123456789012', region: 'us-east-1' } } } },
      });
      const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: `${registry.host}/team/probe:v1` });
      const { trainedModelArn } = await service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP, name: 'wrong-password', configuredModelAlgorithmAssociationArn,
        resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
        dataChannels: [{ channelName: 'train', mlInputChannelArn }],
      });
      const model = await waitForStatus(service, trainedModelArn);
      expect(model.statusDetails?.statusCode).toBe('IMAGE_PULL_FAILED');
      expect(model.statusDetails?.message).toMatch(/unauthorized|authentication required/);
      expect(text).not.toContain('not-the-password');
    } finally {
      await wrong.stop();
    }
  });

  it('uses explicit credentials from the settings for a registry that is not ECR', async () => {
    await removeImage(`${registry.host}/team/probe:v1`).catch(() => undefined);
    await using service = tempService({ settings: { registryCredentials: { [registry.host]: { username: 'AWS', password: ECR_PASSWORD } } } });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: `${registry.host}/team/probe:v1` });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'explicit', configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    expect(model.status).toBe('ACTIVE');
    expect(model.trainingContainerImageDigest).toBe(digest);
  });
});
