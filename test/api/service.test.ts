import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ScriptedRunner, aborted } from '../helpers/fake-runner.js';
import { MEMBERSHIP, ROLE_ARN, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { DEFAULT_COLLABORATION_ID } from '../../src/settings.js';
import { resolveTrainedModelArn } from '../../src/api/artifacts.js';

const resourceConfig = { instanceType: 'ml.m5.large' as const, volumeSizeInGB: 1 };

describe('CleanRoomsMLLocal (API side, scripted runner)', () => {
  it('takes a trained model from CREATE_PENDING through CREATE_IN_PROGRESS to ACTIVE, with logs and metrics stored', async () => {
    const runner = new ScriptedRunner(async (spec, events) => {
      events.onLogLine({ time: new Date(), stream: 'stdout', host: 'algo-1', text: 'epoch=1 loss=0.5' });
      events.onMetric({ name: 'loss', value: 0.5, time: new Date(), host: 'algo-1' });
      return {};
    });
    await using service = tempService({ runner });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'm',
      configuredModelAlgorithmAssociationArn,
      resourceConfig,
      hyperparameters: { epochs: '3' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    expect(trainedModelArn).toMatch(/^arn:aws:cleanrooms-ml:us-east-1:123456789012:membership\/.+\/trained-model\/[0-9a-f]{32}$/);
    const created = await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    expect(['CREATE_PENDING', 'CREATE_IN_PROGRESS', 'ACTIVE']).toContain(created.status);
    const done = await waitForStatus(service, trainedModelArn);
    expect(done.status).toBe('ACTIVE');
    expect(done.trainingContainerImageDigest).toBe('sha256:' + 'a'.repeat(64));
    expect(done.createTime).toBeInstanceOf(Date);
    expect(done.hyperparameters).toEqual({ epochs: '3' });
    expect(done.logsStatus).toBe('PUBLISH_SUCCEEDED');
    expect(service.store.readLogLines(trainedModelArn, '').map((l) => l.text)).toEqual(['epoch=1 loss=0.5']);
    expect(service.store.readMetricPoints(trainedModelArn, '').map((p) => [p.name, p.value])).toEqual([['loss', 0.5]]);
    expect(runner.specs[0]).toMatchObject({ imageUri: 'crml-examples/probe:latest', instanceType: 'ml.m5.large', maxRuntimeInSeconds: 86400 });
  });

  it('records a failed run as CREATE_FAILED with its status code and message', async () => {
    const runner = new ScriptedRunner(async () => ({ succeeded: false, statusCode: 'ALGORITHM_ERROR', message: 'bad data' }));
    await using service = tempService({ runner });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'm', configuredModelAlgorithmAssociationArn, resourceConfig,
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const done = await waitForStatus(service, trainedModelArn);
    expect(done.status).toBe('CREATE_FAILED');
    expect(done.statusDetails).toEqual({ statusCode: 'ALGORITHM_ERROR', message: 'bad data' });
  });

  it('cancels a running trained model to INACTIVE and refuses to cancel a finished one', async () => {
    const runner = new ScriptedRunner(async (_spec, _events, signal) => {
      await aborted(signal);
      return { succeeded: false, statusCode: 'CANCELLED', cancelled: true };
    });
    await using service = tempService({ runner });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'm', configuredModelAlgorithmAssociationArn, resourceConfig,
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn, (s) => s === 'CREATE_IN_PROGRESS');
    await service.cancelTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
    const done = await waitForStatus(service, trainedModelArn);
    expect(done.status).toBe('INACTIVE');
    expect(done.statusDetails?.statusCode).toBe('CANCELLED');
    await expect(service.cancelTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn })).rejects.toMatchObject({
      name: 'ConflictException',
      httpStatusCode: 409,
    });
  });

  it('answers 404 for unknown references and 409 for deleting what is in use', async () => {
    await using service = tempService({ runner: new ScriptedRunner() });
    const { configuredModelAlgorithmArn, configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const missing = configuredModelAlgorithmAssociationArn.replace(/[0-9a-f]{32}$/, 'f'.repeat(32));
    await expect(
      service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP, name: 'm', configuredModelAlgorithmAssociationArn: missing, resourceConfig,
        dataChannels: [{ channelName: 'train', mlInputChannelArn }],
      }),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', httpStatusCode: 404 });
    await expect(
      service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP, name: 'm', configuredModelAlgorithmAssociationArn, resourceConfig,
        dataChannels: [
          { channelName: 'train', mlInputChannelArn },
          { channelName: 'train', mlInputChannelArn },
        ],
      }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(service.deleteConfiguredModelAlgorithm({ configuredModelAlgorithmArn })).rejects.toMatchObject({
      name: 'ConflictException',
    });
  });

  it('accepts SageMaker regexes with Python named groups and refuses ones that do not compile', async () => {
    await using service = tempService({ runner: new ScriptedRunner() });
    await expect(
      service.createConfiguredModelAlgorithm({
        name: 'ok', roleArn: ROLE_ARN,
        trainingContainerConfig: { imageUri: 'algo:1', metricDefinitions: [{ name: 'loss', regex: 'loss=(?P<v>[0-9.]+)' }] },
      }),
    ).resolves.toHaveProperty('configuredModelAlgorithmArn');
    await expect(
      service.createConfiguredModelAlgorithm({
        name: 'bad', roleArn: ROLE_ARN,
        trainingContainerConfig: { imageUri: 'algo:1', metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+' }] },
      }),
    ).rejects.toThrow(/^1 validation error detected: Value 'loss=\(\[0-9.\]\+' at 'trainingContainerConfig.metricDefinitions.1.member.regex' failed to satisfy constraint: /);
  });

  it('refuses tags with the reserved aws: prefix', async () => {
    await using service = tempService({ runner: new ScriptedRunner() });
    await expect(
      service.createConfiguredModelAlgorithm({ name: 'a', roleArn: ROLE_ARN, tags: { 'aws:owner': 'me' } }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({ name: 'a', roleArn: ROLE_ARN });
    await service.tagResource({ resourceArn: configuredModelAlgorithmArn, tags: { team: 'ml' } });
    expect(await service.listTagsForResource({ resourceArn: configuredModelAlgorithmArn })).toEqual({ tags: { team: 'ml' } });
    await service.untagResource({ resourceArn: configuredModelAlgorithmArn, tagKeys: ['team'] });
    expect(await service.listTagsForResource({ resourceArn: configuredModelAlgorithmArn })).toEqual({ tags: {} });
  });

  it('pages through 1,000 trained models, each exactly once, with opaque stable tokens', async () => {
    await using service = tempService({ runner: new ScriptedRunner(), settings: { quotaPerAccount: 10_000, quotaPerMembership: 10_000 } });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const created = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const { trainedModelArn } = await service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP, name: `m${i}`, configuredModelAlgorithmAssociationArn, resourceConfig,
        dataChannels: [{ channelName: 'train', mlInputChannelArn }],
      });
      created.add(trainedModelArn);
      if (i % 50 === 0) await service.waitForRuns();
    }
    await service.waitForRuns();
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await service.listTrainedModels({ membershipIdentifier: MEMBERSHIP, maxResults: 7, nextToken });
      seen.push(...page.trainedModels.map((m) => m.trainedModelArn));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen.length).toBe(1000);
    expect(new Set(seen)).toEqual(created);
    await expect(service.listTrainedModels({ membershipIdentifier: MEMBERSHIP, nextToken: 'garbage' })).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('answers ServiceQuotaExceededException (402) for the sixth run in one membership', async () => {
    const runner = new ScriptedRunner(async (_s, _e, signal) => {
      await aborted(signal);
      return { cancelled: true, succeeded: false, statusCode: 'CANCELLED' };
    });
    await using service = tempService({ runner });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const create = (name: string) =>
      service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP, name, configuredModelAlgorithmAssociationArn, resourceConfig,
        dataChannels: [{ channelName: 'train', mlInputChannelArn }],
      });
    const arns = [];
    for (let i = 0; i < 5; i++) arns.push((await create(`m${i}`)).trainedModelArn);
    await expect(create('m5')).rejects.toMatchObject({ name: 'ServiceQuotaExceededException', httpStatusCode: 402 });
    for (const trainedModelArn of arns) await service.cancelTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn });
  });

  it('shows other members only what the collaboration views define', async () => {
    await using service = tempService({ runner: new ScriptedRunner() });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'm', configuredModelAlgorithmAssociationArn, resourceConfig,
      hyperparameters: { secret: 'x' }, environment: { TOKEN: 'y' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn);
    const view = await service.getCollaborationTrainedModel({ collaborationIdentifier: DEFAULT_COLLABORATION_ID, trainedModelArn });
    expect(view).toMatchObject({ trainedModelArn, creatorAccountId: '123456789012', status: 'ACTIVE' });
    expect(view).not.toHaveProperty('hyperparameters');
    expect(view).not.toHaveProperty('environment');
    const channel = await service.getCollaborationMLInputChannel({ collaborationIdentifier: DEFAULT_COLLABORATION_ID, mlInputChannelArn });
    expect(channel).not.toHaveProperty('inputChannel');
    expect(JSON.stringify(channel)).not.toContain('crml-data-');
  });

  it('lets a second process read the same trained model from the store', async () => {
    await using service = tempService({ runner: new ScriptedRunner() });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'shared', configuredModelAlgorithmAssociationArn, resourceConfig,
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn);
    const out = execFileSync('npx', ['tsx', 'src/cli/bin.ts', 'get-trained-model', '--trained-model-arn', trainedModelArn], {
      env: { ...process.env, CRML_DATA_DIR: service.dataDir },
      encoding: 'utf8',
    });
    const record = JSON.parse(out);
    expect(record).toMatchObject({ trainedModelArn, name: 'shared', status: 'ACTIVE', membershipIdentifier: MEMBERSHIP });
    expect(resolveTrainedModelArn(service, trainedModelArn.split('/').pop()!)).toBe(trainedModelArn);
    expect(resolveTrainedModelArn(service, 'shared')).toBe(trainedModelArn);
    expect(() => resolveTrainedModelArn(service, 'sha%')).toThrow(/not found/);
    expect(record.createTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/);
  });
});
