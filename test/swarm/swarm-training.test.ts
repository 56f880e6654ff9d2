import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MEMBERSHIP, ROLE_ARN, tempDataFolder, tempService, trainingSetup, until, waitForStatus } from '../helpers/fixtures.js';
import { createDataParallelModel, expectDataParallelTrained } from '../helpers/data-parallel.js';
import { leftOnLab, MANAGER, NODES, onNode, useSwarmLab } from './swarm-lab.js';

const PROBE = 'crml-examples/probe:latest';

/** A service whose runs are placed on the lab's swarm, as CRML_ENGINE=swarm DOCKER_HOST=<manager> does. */
function swarmService(settings: Record<string, unknown> = {}) {
  return tempService({ settings: { placement: 'swarm', engine: { dockerHost: MANAGER }, ...settings } });
}

useSwarmLab();

describe('CRML_ENGINE=swarm: a run placed on a real 3-node Docker Swarm (scripts/swarm-lab.sh)', () => {
  it('trains data-parallel on 3 instances ACTIVE, one per node, every host seeing the others; nothing is left', async () => {
    await using service = swarmService();
    const { trainedModelArn } = await createDataParallelModel(service, 'swarm-data-parallel');
    const model = await waitForStatus(service, trainedModelArn, undefined, 180_000);
    const lines = service.store.readLogLines(trainedModelArn, '');
    expect(model.status, JSON.stringify(model.statusDetails) + lines.map((l) => `${l.host} ${l.text}`).join('\n')).toBe('ACTIVE');

    expect(lines.map((l) => l.text)).toContainEqual(
      expect.stringContaining('algo-1 on node crml-lab-n1, algo-2 on node crml-lab-n2, algo-3 on node crml-lab-n3'),
    );
    expectDataParallelTrained(service, trainedModelArn);
    expect(leftOnLab(trainedModelArn)).toEqual([]);
  });

  it("gives each host the contract's environment, config files, limits and hardening; the log says what Swarm cannot apply", async () => {
    await using service = swarmService();
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: PROBE });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'swarm-contract',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 2 },
      hyperparameters: { epochs: '3', model_text: 'from algo-1' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    const model = await waitForStatus(service, trainedModelArn, undefined, 180_000);
    const lines = service.store.readLogLines(trainedModelArn, '').map((l) => l.text);
    expect(model.status, JSON.stringify(model.statusDetails) + lines.join('\n')).toBe('ACTIVE');
    expect(lines).toContainEqual(expect.stringMatching(/^\[cleanrooms-ml-local\] On a Docker Swarm, these parts .* are not applied: no-new-privileges/));

    const dir = join(service.dataDir, 'artifacts', trainedModelArn.split('/').pop()!, 'base');
    const out = (file: string) => execFileSync('tar', ['-xzOf', join(dir, 'output.tar.gz'), file], { encoding: 'utf8' });
    expect(execFileSync('tar', ['-xzOf', join(dir, 'model.tar.gz'), 'model.txt'], { encoding: 'utf8' })).toBe('from algo-1\n');
    const env = out('env.txt').split('\n');
    for (const line of ['SM_CURRENT_HOST=algo-1', 'SM_HOSTS=["algo-1","algo-2"]', 'SM_HP_EPOCHS=3', 'SM_CHANNEL_TRAIN=/opt/ml/input/data/train', 'SM_NUM_CPUS=2']) {
      expect(env).toContain(line);
    }
    expect(JSON.parse(out('config/resourceconfig.json'))).toMatchObject({ current_host: 'algo-1', hosts: ['algo-1', 'algo-2'] });
    expect(JSON.parse(out('config/hyperparameters.json'))).toEqual({ epochs: '3', model_text: 'from algo-1' });
    const limits = out('limits.txt');
    expect(limits).toMatch(/^cpus=2(\.00)?$/m);
    expect(limits).toMatch(new RegExp(`^memory_limit_bytes=${8 * 1024 ** 3}$`, 'm'));
    expect(limits).toMatch(/^pids_max=4096$/m);
    expect(limits).toMatch(new RegExp(`^shm_size_bytes=${4 * 1024 ** 3}$`, 'm'));
    expect(out('capabilities.txt')).toMatch(/^CapEff:\s+0+$/m);
    const writable = out('writable.txt');
    expect(writable).toMatch(/^\/opt\/ml\/input\/config=no$/m);
    expect(writable).toMatch(/^\/opt\/ml\/model=yes$/m);
    expect(writable).toMatch(/^\/opt\/ml\/output\/data=yes$/m);
    expect(out('mounts.txt')).not.toContain('docker.sock');
    expect(leftOnLab(trainedModelArn)).toEqual([]);
  });

  it('gives each node its share of a ShardedByS3Key channel, and every file of a FullyReplicated one', async () => {
    await using service = swarmService();
    const files = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`part-${i}.csv`, `${i}\n`]));
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: PROBE, dataDir: tempDataFolder(files) });
    const { mlInputChannelArn: everyFile } = await service.createMLInputChannel({
      membershipIdentifier: MEMBERSHIP,
      name: 'lookup',
      retentionInDays: 1,
      configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
      inputChannel: { roleArn: ROLE_ARN, dataSource: { localDataSource: { path: tempDataFolder({ 'a.csv': 'a\n', 'sub/b.csv': 'b\n' }) } } },
    });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'swarm-shards',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 3 },
      hyperparameters: { list_channels_to_stdout: 'true' },
      dataChannels: [
        { channelName: 'train', mlInputChannelArn, s3DataDistributionType: 'ShardedByS3Key' },
        { channelName: 'lookup', mlInputChannelArn: everyFile },
      ],
    });
    const model = await waitForStatus(service, trainedModelArn, undefined, 180_000);
    const lines = service.store.readLogLines(trainedModelArn, '');
    expect(model.status, JSON.stringify(model.statusDetails) + lines.map((l) => `${l.host} ${l.text}`).join('\n')).toBe('ACTIVE');
    const seen = (host: string, channel: string) =>
      lines.filter((l) => l.text.startsWith(`channel-file ${host} ${channel}/`)).map((l) => l.text.split(' ')[2]).sort();
    expect(seen('algo-1', 'train')).toEqual(['train/part-0.csv', 'train/part-3.csv', 'train/part-6.csv']);
    expect(seen('algo-2', 'train')).toEqual(['train/part-1.csv', 'train/part-4.csv']);
    expect(seen('algo-3', 'train')).toEqual(['train/part-2.csv', 'train/part-5.csv']);
    for (const host of ['algo-1', 'algo-2', 'algo-3']) expect(seen(host, 'lookup'), host).toEqual(['lookup/a.csv', 'lookup/sub/b.csv']);
    expect(leftOnLab(trainedModelArn)).toEqual([]);
  });

  it('fails the run naming the host whose task was killed on its node, stops the others, and leaves nothing', async () => {
    await using service = swarmService({ stopGracePeriodMs: 2000 });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: PROBE });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'swarm-killed',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 3 },
      hyperparameters: { sleep_seconds: '120' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn, (s) => s === 'CREATE_IN_PROGRESS');
    // Each node runs exactly one task of the run; algo-2's is on crml-lab-n2.
    const task = (i: number) =>
      onNode(NODES[i]!.socket, 'ps', '-q', '--filter', `label=crml.trained-model=${trainedModelArn}`, '--filter', 'label=crml.swarm.role=task');
    await until(() => [0, 1, 2].every((i) => task(i).split('\n').filter(Boolean).length === 1), 30_000);
    onNode(NODES[1]!.socket, 'kill', task(1));

    const model = await waitForStatus(service, trainedModelArn, undefined, 60_000);
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('ALGORITHM_ERROR');
    expect(model.statusDetails?.message).toMatch(/^Instance algo-2 \(swarm node crml-lab-n2\) failed: Algorithm exited with code 137/);
    expect(leftOnLab(trainedModelArn)).toEqual([]);
  });

  it('stops a run past its maxRuntimeInSeconds (SIGTERM, then SIGKILL) and a cancelled one; nothing is left', async () => {
    await using service = swarmService({ stopGracePeriodMs: 1000 });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri: PROBE });
    const create = (name: string, extra: object) =>
      service.createTrainedModel({
        membershipIdentifier: MEMBERSHIP,
        name,
        configuredModelAlgorithmAssociationArn,
        resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 2 },
        hyperparameters: { sleep_seconds: '300', ignore_sigterm: 'true' },
        dataChannels: [{ channelName: 'train', mlInputChannelArn }],
        ...extra,
      });
    const late = await create('swarm-deadline', { stoppingCondition: { maxRuntimeInSeconds: 5 } });
    const timedOut = await waitForStatus(service, late.trainedModelArn, undefined, 90_000);
    expect(timedOut.statusDetails?.statusCode).toBe('MAX_RUNTIME_EXCEEDED');
    const lines = service.store.readLogLines(late.trainedModelArn, '').map((l) => l.text);
    expect(lines).toContain('probe: SIGTERM received and ignored');
    expect(leftOnLab(late.trainedModelArn)).toEqual([]);

    const cancelled = await create('swarm-cancel', {});
    await waitForStatus(service, cancelled.trainedModelArn, (s) => s === 'CREATE_IN_PROGRESS');
    await service.cancelTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: cancelled.trainedModelArn });
    const ended = await waitForStatus(service, cancelled.trainedModelArn, undefined, 60_000);
    expect(ended.statusDetails?.statusCode ?? ended.status).toMatch(/CANCELLED|INACTIVE/);
    expect(leftOnLab(cancelled.trainedModelArn)).toEqual([]);
  });
});
