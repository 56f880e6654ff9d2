import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBERSHIP, tempDataFolder, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';

describe('Pipe mode: channels as FIFOs <channel>_<epoch> (real containers)', () => {
  it('streams the channel files in order through train_0, train_1, train_2, byte for byte', async () => {
    const big = randomBytes(8 * 1024 * 1024).toString('base64'); // larger than any pipe buffer: backpressure
    const files = { 'a.csv': '1,2\n3,4\n', 'b/c.csv': '5,6\n', 'big.txt': `${big}\n` };
    const dataDir = tempDataFolder(files);
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      dataDir,
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'pipe',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      trainingInputMode: 'Pipe',
      hyperparameters: { read_pipe: 'train', read_pipe_epochs: '3', list_channels_to_stdout: 'true' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    const lines = service.store.readLogLines(trainedModelArn, '').map((l) => l.text);
    expect(model.status, lines.join('\n')).toBe('ACTIVE');
    expect(model.trainingInputMode).toBe('Pipe');

    // Sorted by path, concatenated as they are.
    const expected = Buffer.concat(['a.csv', 'b/c.csv', 'big.txt'].map((f) => readFileSync(join(dataDir, f))));
    const md5 = createHash('md5').update(expected).digest('hex');
    // No folder: the FIFO is the channel.
    expect(lines.filter((l) => l.startsWith('channel-file '))).toEqual(['channel-file algo-1 train_0']);
    for (const e of [0, 1, 2]) expect(lines).toContain(`pipe algo-1 train_${e} bytes=${expected.length} md5=${md5} lines=4`);
    const artifactsDir = join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, 'base');
    const inputDataConfig = JSON.parse(
      execFileSync('tar', ['-xzOf', join(artifactsDir, 'output.tar.gz'), 'config/inputdataconfig.json'], { encoding: 'utf8' }),
    );
    expect(inputDataConfig.train.TrainingInputMode).toBe('Pipe');
    expect(lines).toContainEqual(expect.stringMatching(/^\[cleanrooms-ml-local\] Channel 'train' \(Pipe mode\): the FIFO \/opt\/ml\/input\/data\/train_0 streams its 3 files/));
    // The FIFOs' folder went with the run.
    expect(readdirSync(artifactsDir)).not.toContain('.pipes');
  });

  it('gives each host of a cluster its own FIFO over its share of a ShardedByS3Key channel', async () => {
    const files = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`part-${i}.csv`, `${i},${i}\n`]));
    const dataDir = tempDataFolder(files);
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      dataDir,
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'pipe-sharded',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 2 },
      trainingInputMode: 'Pipe',
      hyperparameters: { read_pipe: 'train', read_pipe_epochs: '3', list_channels_to_stdout: 'true' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn, s3DataDistributionType: 'ShardedByS3Key' }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    const lines = service.store.readLogLines(trainedModelArn, '').map((l) => l.text);
    expect(model.status, lines.join('\n')).toBe('ACTIVE');
    const md5 = (parts: number[]) => createHash('md5').update(parts.map((i) => `${i},${i}\n`).join('')).digest('hex');
    // part-0, part-2, part-4 to algo-1; part-1, part-3 to algo-2.
    expect(lines).toContain(`pipe algo-1 train_0 bytes=12 md5=${md5([0, 2, 4])} lines=3`);
    expect(lines).toContain(`pipe algo-2 train_2 bytes=8 md5=${md5([1, 3])} lines=2`);
    expect(existsSync(join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, 'base', '.pipes'))).toBe(false);
  });

  it('trains the streaming-sgd example to ACTIVE in Pipe mode: three epochs through train_0, train_1, train_2', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      imageUri: 'crml-examples/streaming-sgd:latest',
      metricDefinitions: [
        { name: 'train:loss', regex: 'train_loss=([0-9.eE+-]+)' },
        { name: 'train:rows', regex: 'epoch=[0-9]+ rows=([0-9]+)' },
      ],
      dataDir: join(import.meta.dirname, '../../examples/algorithms/linear-regression/data/train'),
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'sgd',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      trainingInputMode: 'Pipe',
      hyperparameters: { epochs: '3', learning_rate: '0.05', batch_size: '16' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn);
    const lines = service.store.readLogLines(trainedModelArn, '').map((l) => l.text);
    expect(model.status, lines.join('\n')).toBe('ACTIVE');
    expect(lines).toContain('reading channel train through the FIFO /opt/ml/input/data/train_0 (Pipe mode)');
    const points = service.store.readMetricPoints(trainedModelArn, '');
    expect(points.filter((p) => p.name === 'train:rows').map((p) => p.value)).toEqual([400, 400, 400]);
    const losses = points.filter((p) => p.name === 'train:loss').map((p) => p.value);
    expect(losses.at(-1)!).toBeLessThan(0.05);
    const saved = JSON.parse(
      execFileSync('tar', ['-xzOf', join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, 'base', 'model.tar.gz'), 'model.json'], {
        encoding: 'utf8',
      }),
    );
    expect(saved.input_mode).toBe('Pipe');
    expect(saved.rows_per_epoch).toEqual([400, 400, 400]);
  });

  it('keeps an incremental training channel a folder beside the FIFOs, its TrainingInputMode File', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const common = {
      membershipIdentifier: MEMBERSHIP,
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large' as const, volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    };
    const base = await service.createTrainedModel({ ...common, name: 'base' });
    expect((await waitForStatus(service, base.trainedModelArn)).status).toBe('ACTIVE');
    const v2 = await service.createTrainedModel({
      ...common,
      name: 'v2',
      trainingInputMode: 'Pipe',
      hyperparameters: { read_pipe: 'train', list_channels_to_stdout: 'true' },
      incrementalTrainingDataChannels: [{ trainedModelArn: base.trainedModelArn, channelName: 'model' }],
    });
    const model = await waitForStatus(service, base.trainedModelArn, undefined, 120_000, v2.versionIdentifier);
    const lines = service.store.readLogLines(base.trainedModelArn, v2.versionIdentifier!).map((l) => l.text);
    expect(model.status, lines.join('\n')).toBe('ACTIVE');
    expect(lines.filter((l) => l.startsWith('channel-file '))).toEqual(['channel-file algo-1 model/model.tar.gz', 'channel-file algo-1 train_0']);
    expect(lines).toContainEqual(expect.stringMatching(/^pipe algo-1 train_0 bytes=8 /));
    const artifactsDir = join(service.dataDir, 'artifacts', base.trainedModelArn.split('/').pop()!, v2.versionIdentifier!);
    const inputDataConfig = JSON.parse(
      execFileSync('tar', ['-xzOf', join(artifactsDir, 'output.tar.gz'), 'config/inputdataconfig.json'], { encoding: 'utf8' }),
    );
    expect(inputDataConfig.model).toMatchObject({ ContentType: 'application/x-sagemaker-model', TrainingInputMode: 'File' });
    expect(inputDataConfig.train.TrainingInputMode).toBe('Pipe');
  });
});
