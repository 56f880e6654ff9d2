import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { crml } from '../helpers/crml-cli.js';
import { MEMBERSHIP, tempService, trainingSetup, until } from '../helpers/fixtures.js';

/*
 * `crml create-trained-model` with incrementalTrainingDataChannels, as a user runs it: the process trains the new
 * version, reports that version's status, and Ctrl-C cancels that version (not the base one).
 */

function containersOf(arn: string): string {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${arn}`], { encoding: 'utf8' }).trim();
}

async function baseModel(setup: Awaited<ReturnType<typeof tempService>>) {
  const ids = await trainingSetup(setup);
  const base = await setup.createTrainedModel({
    membershipIdentifier: MEMBERSHIP,
    name: 'base',
    configuredModelAlgorithmAssociationArn: ids.configuredModelAlgorithmAssociationArn,
    resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
    dataChannels: [{ channelName: 'train', mlInputChannelArn: ids.mlInputChannelArn }],
  });
  await setup.waitForRuns();
  expect((await setup.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: base.trainedModelArn })).status).toBe('ACTIVE');
  const args = (hyperparameters: Record<string, string>) => [
    'create-trained-model', '--name', 'next',
    '--configured-model-algorithm-association-arn', ids.configuredModelAlgorithmAssociationArn,
    '--resource-config', JSON.stringify({ instanceType: 'ml.m5.large', volumeSizeInGB: 1 }),
    '--hyperparameters', JSON.stringify(hyperparameters),
    '--data-channels', JSON.stringify([{ channelName: 'train', mlInputChannelArn: ids.mlInputChannelArn }]),
    '--incremental-training-data-channels', JSON.stringify([{ trainedModelArn: base.trainedModelArn, channelName: 'model' }]),
  ];
  return { arn: base.trainedModelArn, args };
}

const versionOf = (stdout: string) => /"versionIdentifier": "([^"]+)"/.exec(stdout)?.[1];

describe('crml create-trained-model with an incremental training channel', () => {
  it("reports the new version's own status: a failed version is not the base's ACTIVE", async () => {
    await using setup = tempService({ reconcile: false });
    const { arn, args } = await baseModel(setup);
    const run = crml(setup.dataDir, args({ exit_code: '3', failure_text: 'version failed on purpose' }));
    expect(await run.exited).toBe(0);
    const versionIdentifier = versionOf(run.out.stdout);
    expect(versionIdentifier).toMatch(/^[0-9a-f-]{36}$/);
    const version = await setup.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn, versionIdentifier });
    expect(version.status).toBe('CREATE_FAILED');
    expect(run.out.stderr).toContain(`version ${versionIdentifier}`);
    expect(run.out.stderr).toContain('Trained model CREATE_FAILED: ALGORITHM_ERROR version failed on purpose');
    expect(run.out.stderr).not.toContain('Trained model ACTIVE');
  });

  it('cancels the version it runs on Ctrl-C, and leaves the base version alone', async () => {
    await using setup = tempService({ reconcile: false });
    const { arn, args } = await baseModel(setup);
    const run = crml(setup.dataDir, args({ sleep_seconds: '120' }));
    await until(() => versionOf(run.out.stdout) !== undefined);
    const versionIdentifier = versionOf(run.out.stdout)!;
    const status = () => setup.trainedModels.get(arn, versionIdentifier)?.body.status;
    await until(() => status() === 'CREATE_IN_PROGRESS', 120_000);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(status()).toBe('INACTIVE');
    expect(setup.trainedModels.get(arn, versionIdentifier)?.body.statusDetails?.statusCode).toBe('CANCELLED');
    expect(setup.trainedModels.get(arn)?.body.status).toBe('ACTIVE');
    expect(run.out.stderr).toContain('Trained model INACTIVE');
    expect(containersOf(arn)).toBe('');
  });
});
