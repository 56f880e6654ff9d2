import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { MEMBERSHIP, tempService, until, waitForStatus } from '../helpers/fixtures.js';
import { createDataParallelModel, expectDataParallelTrained } from '../helpers/data-parallel.js';
import { clusterNetworkName } from '../../src/runner/cluster-network.js';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

describe('the data-parallel example: training across 3 instances over TCP (real containers, a real network)', () => {
  it('trains ACTIVE on 3 instances: each host saw the other two, all agree on the loss, algo-1 keeps the model', async () => {
    await using service = tempService();
    const { trainedModelArn } = await createDataParallelModel(service, 'data-parallel');
    const model = await waitForStatus(service, trainedModelArn);
    const lines = service.store.readLogLines(trainedModelArn, '');
    expect(model.status, lines.map((l) => `${l.host} ${l.text}`).join('\n')).toBe('ACTIVE');

    // Every host computed the same global loss each epoch, and it went down.
    const losses = expectDataParallelTrained(service, trainedModelArn);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
    expect(docker('ps', '-aq', '--filter', `label=crml.trained-model=${trainedModelArn}`)).toBe('');
    expect(docker('network', 'ls', '-q', '--filter', `name=${clusterNetworkName(trainedModelArn)}`)).toBe('');
  });

  it('fails the job when one instance is killed, stops the others, and leaves no container or network', async () => {
    await using service = tempService({ settings: { stopGracePeriodMs: 2000 } });
    // Long enough to be killed mid-training.
    const { trainedModelArn } = await createDataParallelModel(service, 'killed', { epochs: '100000', learning_rate: '0.01' });
    await until(() => service.store.readLogLines(trainedModelArn, '').some((l) => l.host === 'algo-3' && /^epoch=\d+ /.test(l.text)));
    docker('kill', docker('ps', '-q', '--filter', `label=crml.trained-model=${trainedModelArn}`, '--filter', 'label=crml.host=algo-2'));

    const model = await waitForStatus(service, trainedModelArn, undefined, 60_000);
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('ALGORITHM_ERROR');
    // Whichever exit the runner sees first: algo-2's own (137), or a peer's that lost its connection to algo-2.
    expect(model.statusDetails?.message).toMatch(/^Instance algo-2 failed: |^Instance algo-[13] failed: lost the connection to algo-2/);
    const lines: string[] = [];
    for await (const l of service.trainedModelLogs({ membershipIdentifier: MEMBERSHIP, trainedModelArn })) lines.push(l.text);
    expect(lines).toContainEqual(expect.stringMatching(/^\[cleanrooms-ml-local\] algo-\d exited with code (137|1): stopping the other instances\.$/));
    expect(docker('ps', '-aq', '--filter', `label=crml.trained-model=${trainedModelArn}`)).toBe('');
    expect(docker('network', 'ls', '-q', '--filter', `name=${clusterNetworkName(trainedModelArn)}`)).toBe('');
  });
});
