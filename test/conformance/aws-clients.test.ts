import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempService } from '../helpers/fixtures.js';
import { awsCli, awsEnv, boto3Flow } from './drivers.js';
import { startServer, type RunningServer } from '../../src/api/http/server.js';

const TABLES = join(import.meta.dirname, '../fixtures/tables');
const MEMBERSHIP = '00000000-0000-4000-8000-000000000001';

describe('boto3 and the AWS CLI against crml serve', () => {
  let service: ReturnType<typeof tempService>;
  let server: RunningServer;

  beforeAll(async () => {
    service = tempService();
    writeFileSync(join(service.dataDir, 'workspace.json'), JSON.stringify({ tables: { customers: { path: join(TABLES, 'customers.csv'), header: false } } }));
    server = await startServer({ service });
  });
  afterAll(async () => {
    await server.close();
    await service[Symbol.asyncDispose]();
  });

  it('runs the full flow in boto3: algorithm → association → channel → trained model → ACTIVE → a new version → list → tags → delete', async () => {
    const seen = await boto3Flow(server.url);
    expect(seen).toMatchObject({
      algorithmCreateTimeType: 'datetime',
      algorithmTags: { team: 'ml' },
      channelStatus: 'ACTIVE',
      channelRecords: 3,
      listed: true,
      paginated: 1,
      collaborationHidesHyperparameters: true,
      tags: { stage: 'test' },
      tagsAfterUntag: {},
      cancelFinished: ['ConflictException', 409],
      versionSameArn: true,
      versionStatus: 'ACTIVE',
      versionChannels: [{ channelName: 'model', modelName: 'boto3-model' }],
      latestIsVersion: true,
      versions: [
        [true, 'boto3-model-v2'],
        [false, 'boto3-model'],
      ],
      collaborationVersion: 'boto3-model-v2',
      afterDelete: [
        [false, 'ACTIVE'],
        [true, 'INACTIVE'],
      ],
      getDeleted: ['ResourceNotFoundException', 404],
    });
    expect(seen.statuses).toEqual(expect.arrayContaining(['ACTIVE']));
    expect((seen.statuses as string[]).at(-1)).toBe('ACTIVE');
    expect(seen.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(seen.tooLong).toEqual([
      'ValidationException',
      400,
      `1 validation error detected: Value '${'x'.repeat(64)}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 63`,
    ]);
  });

  it('answers the AWS CLI with its exit codes and AWS-shaped errors', async () => {
    const list = await awsCli(server.url, ['list-trained-models', '--membership-identifier', MEMBERSHIP]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveProperty('trainedModels');

    const missing = await awsCli(server.url, [
      'get-trained-model', '--membership-identifier', MEMBERSHIP,
      '--trained-model-arn', `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/trained-model/${'0'.repeat(32)}`,
    ]);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain('An error occurred (ResourceNotFoundException) when calling the GetTrainedModel operation');

    const badEnum = await awsCli(server.url, [
      'create-trained-model', '--membership-identifier', MEMBERSHIP, '--name', 'x',
      '--configured-model-algorithm-association-arn', `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/configured-model-algorithm-association/a`,
      '--resource-config', 'instanceType=ml.nope.large,volumeSizeInGB=1',
      '--data-channels', `mlInputChannelArn=arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/ml-input-channel/a,channelName=train`,
    ]);
    expect(badEnum.code).toBe(254);
    expect(badEnum.stderr).toContain("at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set:");

    const badToken = await awsCli(server.url, ['list-trained-models', '--membership-identifier', MEMBERSHIP, '--starting-token', 'eyJub3BlIjoxfQ==']);
    expect(badToken.code).not.toBe(0);
  });

  it('verifies SigV4 when credentials are configured: the right key passes, a wrong one gets 403', async () => {
    const credentials = { accessKeyId: 'AKIDCRMLTEST', secretAccessKey: 's3cr3t/with+chars' };
    const signed = await startServer({ service, credentials });
    try {
      const ok = await awsCli(signed.url, ['list-configured-model-algorithms'], awsEnv(credentials));
      expect(ok.code).toBe(0);
      const ok2 = await awsCli(
        signed.url,
        ['get-configured-model-algorithm', '--configured-model-algorithm-arn', 'arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-model-algorithm/abc'],
        awsEnv(credentials),
      );
      expect(ok2.stderr).toContain('ResourceNotFoundException'); // signed fine, percent-encoded ARN in the path
      const wrong = await awsCli(signed.url, ['list-configured-model-algorithms'], awsEnv({ ...credentials, secretAccessKey: 'nope' }));
      expect(wrong.code).toBe(254);
      expect(wrong.stderr).toContain('InvalidSignatureException');
      const unknown = await awsCli(signed.url, ['list-configured-model-algorithms'], awsEnv({ accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' }));
      expect(unknown.stderr).toContain('UnrecognizedClientException');
      const anonymous = await fetch(`${signed.url}/configured-model-algorithms`);
      expect(anonymous.status).toBe(403);
      expect(anonymous.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    } finally {
      await signed.close();
    }
  });
});
