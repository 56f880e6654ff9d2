import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import type { InstanceType } from '../../src/api/generated/types.js';

async function train(service: CleanRoomsMLLocal, association: string, channel: string, name: string, opts: { instanceType?: InstanceType; volumeSizeInGB?: number; hyperparameters?: Record<string, string> }) {
  const { trainedModelArn } = await service.createTrainedModel({
    membershipIdentifier: MEMBERSHIP,
    name,
    configuredModelAlgorithmAssociationArn: association,
    resourceConfig: { instanceType: opts.instanceType ?? 'ml.m5.large', volumeSizeInGB: opts.volumeSizeInGB ?? 1 },
    hyperparameters: opts.hyperparameters,
    dataChannels: [{ channelName: 'train', mlInputChannelArn: channel }],
  });
  return trainedModelArn;
}

function outputFile(service: { dataDir: string }, arn: string, member: string): string {
  const tarball = join(service.dataDir, 'artifacts', arn.split('/').pop()!, 'base', 'output.tar.gz');
  return execFileSync('tar', ['-xzOf', tarball, member], { encoding: 'utf8' });
}

describe('resource config and capacity', () => {
  it('scales an instance type larger than the host down, says so, and reports what was applied', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn: a, mlInputChannelArn: c } = await trainingSetup(service);
    const arn = await train(service, a, c, 'big', { instanceType: 'ml.g4dn.12xlarge' });
    expect((await waitForStatus(service, arn)).status).toBe('ACTIVE');
    const env = outputFile(service, arn, 'env.txt');
    expect(env).toMatch(/^SM_NUM_CPUS=2$/m);
    expect(env).toMatch(/^SM_NUM_GPUS=0$/m);
    expect(JSON.parse(outputFile(service, arn, 'config/resourceconfig.json')).current_instance_type).toBe('ml.g4dn.12xlarge');
    const note = service.store.readLogLines(arn, '').find((l) => l.text.startsWith('[cleanrooms-ml-local]'));
    expect(note?.text).toContain('This host is smaller than ml.g4dn.12xlarge: the container gets 2 of 48 vCPUs');
    expect(note?.text).toContain('0 of 4 GPUs');
    const manifest = JSON.parse(execFileSync('cat', [join(service.dataDir, 'artifacts', arn.split('/').pop()!, 'base', 'manifest.json')], { encoding: 'utf8' }));
    expect(manifest.limits).toMatchObject({ vcpus: 2, gpus: 0, requested: { vcpus: 48, gpus: 4 } });
    const record = service.store.get<{ run?: { limits?: { scaledDown?: string; vcpus?: number } } }>('trained-model', arn)!.body;
    expect(record.run?.limits).toMatchObject({ vcpus: 2 });
    expect(record.run?.limits?.scaledDown).toContain('2 of 48 vCPUs');
  });

  it('fails instead in strict mode, with the reason', async () => {
    await using service = tempService({ settings: { strictResources: true } });
    const { configuredModelAlgorithmAssociationArn: a, mlInputChannelArn: c } = await trainingSetup(service);
    const arn = await train(service, a, c, 'strict', { instanceType: 'ml.m5.4xlarge' });
    const done = await waitForStatus(service, arn);
    expect(done.status).toBe('CREATE_FAILED');
    expect(done.statusDetails?.message).toContain('This host is smaller than ml.m5.4xlarge (strict mode)');
  });

  it('fails a job that writes more than volumeSizeInGB under /opt/ml, with a clear reason', async () => {
    await using service = tempService({ settings: { volumeCheckIntervalMs: 250, stopGracePeriodMs: 2000 } });
    const { configuredModelAlgorithmAssociationArn: a, mlInputChannelArn: c } = await trainingSetup(service);
    const arn = await train(service, a, c, 'writer', { volumeSizeInGB: 1, hyperparameters: { fill_mb: '1300', sleep_seconds: '20' } });
    const done = await waitForStatus(service, arn);
    expect(done.status).toBe('CREATE_FAILED');
    expect(done.statusDetails?.statusCode).toBe('ALGORITHM_ERROR');
    expect(done.statusDetails?.message).toMatch(/more than resourceConfig\.volumeSizeInGB \(1 GB\)/);
  });

  it('keeps a run in CREATE_PENDING while the host has no room, and starts it when the first ends', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn: a, mlInputChannelArn: c } = await trainingSetup(service);
    // Two ml.m5.large (2 vCPUs each) do not fit together on a 2-core host.
    const first = await train(service, a, c, 'first', { hyperparameters: { sleep_seconds: '3' } });
    await waitForStatus(service, first, (s) => s === 'CREATE_IN_PROGRESS');
    const second = await train(service, a, c, 'second', {});
    await new Promise((r) => setTimeout(r, 1000));
    expect((await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: second })).status).toBe('CREATE_PENDING');
    expect((await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: first })).status).toBe('CREATE_IN_PROGRESS');
    const a1 = await waitForStatus(service, first);
    const a2 = await waitForStatus(service, second);
    expect([a1.status, a2.status]).toEqual(['ACTIVE', 'ACTIVE']);
    expect(a2.updateTime.getTime()).toBeGreaterThanOrEqual(a1.updateTime.getTime());
  });

  it('deletes the output of a finished run: DELETE_* → INACTIVE, artifacts removed', async () => {
    await using service = tempService();
    const { configuredModelAlgorithmAssociationArn: a, mlInputChannelArn: c } = await trainingSetup(service);
    const arn = await train(service, a, c, 'to-delete', {});
    await waitForStatus(service, arn);
    const dir = join(service.dataDir, 'artifacts', arn.split('/').pop()!, 'base');
    expect(execFileSync('ls', [dir], { encoding: 'utf8' })).toContain('model.tar.gz');
    await service.deleteTrainedModelOutput({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn });
    expect((await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn })).status).toBe('INACTIVE');
    expect(() => execFileSync('ls', [dir], { stdio: 'pipe' })).toThrow();
    await expect(service.deleteTrainedModelOutput({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn })).rejects.toMatchObject({ name: 'ConflictException' });
  });
});
