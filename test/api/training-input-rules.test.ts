import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, ROLE_ARN, tempService, trainingSetup } from '../helpers/fixtures.js';
import { awsCli } from '../helpers/aws-clients.js';
import { startServer, type RunningServer } from '../../src/api/http/server.js';

/**
 * Training input a container cannot be given is a ValidationException at create (decided, see
 * src/api/training-input-rules.ts), not a run that fails later as INTERNAL_ERROR or ALGORITHM_ERROR.
 */

const resourceConfig = { instanceType: 'ml.m5.large' as const, volumeSizeInGB: 1 };

describe('CreateTrainedModel refuses what a container cannot be given', () => {
  let service: ReturnType<typeof tempService>;
  let runner: ScriptedRunner;
  let setup: Awaited<ReturnType<typeof trainingSetup>>;
  beforeAll(async () => {
    runner = new ScriptedRunner();
    service = tempService({ runner });
    setup = await trainingSetup(service);
  });
  afterAll(async () => {
    await service[Symbol.asyncDispose]();
  });

  const create = (extra: Record<string, unknown>) =>
    service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'm',
      configuredModelAlgorithmAssociationArn: setup.configuredModelAlgorithmAssociationArn,
      resourceConfig,
      dataChannels: [{ channelName: 'train', mlInputChannelArn: setup.mlInputChannelArn }],
      ...extra,
    });
  const refused = async (extra: Record<string, unknown>) => {
    const e = await create(extra).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toMatchObject({ name: 'ValidationException', httpStatusCode: 400 });
    return (e as Error).message;
  };

  it('refuses NUL and unpaired surrogates in hyperparameters and environment values, naming the key', async () => {
    expect(await refused({ hyperparameters: { epochs: '1\u00002' } })).toBe(
      "1 validation error detected: Value '1\\u00002' at 'hyperparameters.epochs' failed to satisfy constraint: " +
        "Map value must not contain NUL (\\u0000): a container's environment cannot carry it",
    );
    expect(await refused({ environment: { MODE: 'a\u0000' } })).toContain("at 'environment.MODE' failed to satisfy constraint: Map value must not contain NUL");
    expect(await refused({ hyperparameters: { 'ep\u0000': '1' } })).toContain("at 'hyperparameters' failed to satisfy constraint: Map keys must not contain NUL");
    expect(await refused({ hyperparameters: { lr: 'x\uD800' } })).toContain('an unpaired surrogate (\\uD800)');
  });

  it('refuses hyperparameters whose SM_HPS would overflow Linux’s limit on one environment string', async () => {
    const hyperparameters = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`p${i}`, 'x'.repeat(2500)]));
    expect(await refused({ hyperparameters })).toMatch(
      /^1 validation error detected: Value at 'hyperparameters' failed to satisfy constraint: The hyperparameters are too large for the container's environment: SM_HPS would be \d+ bytes, and Linux limits one environment string to 131072 bytes \(MAX_ARG_STRLEN\)$/,
    );
    // 50 of them fit.
    await expect(create({ hyperparameters: Object.fromEntries(Object.entries(hyperparameters).slice(0, 50)) })).resolves.toHaveProperty('trainedModelArn');
  });

  it('refuses hyperparameter keys that would set another variable or clash with one another', async () => {
    expect(await refused({ hyperparameters: { 'MODE=': 'x' } })).toContain(
      "Value 'MODE=' at 'hyperparameters' failed to satisfy constraint: Map keys must not contain '=': SM_HP_MODE= would not be a valid environment variable name",
    );
    expect(await refused({ hyperparameters: { 'learning-rate': '1', LEARNING_RATE: '2' } })).toContain(
      "Map keys must give distinct environment variables: 'learning-rate' and 'LEARNING_RATE' would both set SM_HP_LEARNING_RATE",
    );
  });

  it('refuses environment keys that are not variable names (the model’s pattern)', async () => {
    expect(await refused({ environment: { 'A=B': 'x' } })).toContain("at 'environment' failed to satisfy constraint: Map keys must satisfy constraint");
  });

  it('refuses channel names . and .., and names that give the same SM_CHANNEL_ variable', async () => {
    expect(await refused({ dataChannels: [{ channelName: '..', mlInputChannelArn: setup.mlInputChannelArn }] })).toBe(
      "1 validation error detected: Value '..' at 'dataChannels.1.member.channelName' failed to satisfy constraint: " +
        "Member must not be '.' or '..': it would not be a folder of its own under /opt/ml/input/data",
    );
    expect(await refused({ dataChannels: [{ channelName: '.', mlInputChannelArn: setup.mlInputChannelArn }] })).toContain("Value '.' at 'dataChannels.1.member.channelName'");
    const clash = await refused({
      dataChannels: [
        { channelName: 'train-a', mlInputChannelArn: setup.mlInputChannelArn },
        { channelName: 'TRAIN.A', mlInputChannelArn: setup.mlInputChannelArn },
      ],
    });
    expect(clash).toContain("at 'dataChannels.2.member.channelName' failed to satisfy constraint: Channel names must give distinct environment variables: 'train-a' and 'TRAIN.A' would both set SM_CHANNEL_TRAIN_A");
  });

  it('refuses NUL in the algorithm’s entrypoint and arguments at CreateConfiguredModelAlgorithm', async () => {
    await expect(
      service.createConfiguredModelAlgorithm({
        name: 'a', roleArn: ROLE_ARN,
        trainingContainerConfig: { imageUri: 'algo:1', entrypoint: ['python'], arguments: ['--x', 'a\u0000b'] },
      }),
    ).rejects.toThrow(
      "1 validation error detected: Value 'a\\u0000b' at 'trainingContainerConfig.arguments.2.member' failed to satisfy constraint: Member must not contain NUL (\\u0000): a container's command line cannot carry it",
    );
  });

  it('stores nothing and starts no run for a refused request', async () => {
    const before = (await service.listTrainedModels({ membershipIdentifier: MEMBERSHIP })).trainedModels.length;
    const started = runner.specs.length;
    await refused({ hyperparameters: { 'MODE=': 'x' } });
    expect((await service.listTrainedModels({ membershipIdentifier: MEMBERSHIP })).trainedModels).toHaveLength(before);
    expect(runner.specs).toHaveLength(started);
  });

  describe('over the wire, to the AWS CLI', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startServer({ service });
    });
    afterAll(async () => {
      await server.close();
    });

    it('answers a ValidationException the CLI shows, naming the key', async () => {
      const r = await awsCli(server.url, [
        'create-trained-model', '--membership-identifier', MEMBERSHIP, '--name', 'cli',
        '--configured-model-algorithm-association-arn', setup.configuredModelAlgorithmAssociationArn,
        '--resource-config', 'instanceType=ml.m5.large,volumeSizeInGB=1',
        '--data-channels', `mlInputChannelArn=${setup.mlInputChannelArn},channelName=..`,
        '--hyperparameters', JSON.stringify({ 'MODE=': 'x' }),
      ]);
      expect(r.code).toBe(254);
      expect(r.stderr).toContain('An error occurred (ValidationException) when calling the CreateTrainedModel operation: 2 validation errors detected');
      expect(r.stderr).toContain("Value 'MODE=' at 'hyperparameters'");
      expect(r.stderr).toContain("Value '..' at 'dataChannels.1.member.channelName'");
    });
  });
});
