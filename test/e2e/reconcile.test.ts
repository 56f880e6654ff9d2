import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { CleanRoomsMLLocal } from '../../src/api/service.js';
import { MEMBERSHIP, tempService, trainingSetup, until } from '../helpers/fixtures.js';
import { killRunner, startRunnerProcess } from '../helpers/runner-process.js';

function containersOf(arn: string): string {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${arn}`], { encoding: 'utf8' }).trim();
}

/** Whether the run's container has started (running, or already exited): CREATE_IN_PROGRESS comes a moment before. */
function containerStarted(arn: string): boolean {
  const filters = ['--filter', `label=crml.trained-model=${arn}`, '--filter', 'status=running', '--filter', 'status=exited'];
  return execFileSync('docker', ['ps', '-aq', ...filters], { encoding: 'utf8' }).trim() !== '';
}

describe('a runner process killed mid-run', () => {
  it('is taken over by the next process: re-attached to its container, finished with its logs and model, nothing left behind', async () => {
    await using setup = tempService({ reconcile: false });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(setup);
    const { child, arn } = await startRunnerProcess(setup.dataDir, configuredModelAlgorithmAssociationArn, mlInputChannelArn, {
      print_lines: '5',
      sleep_seconds: '4',
      model_text: 'survived',
    });
    const status = () => setup.store.get<{ status: string }>('trained-model', arn)?.body.status;
    await until(() => status() === 'CREATE_IN_PROGRESS' && setup.store.countLogLines(arn, '').stdout === 5);
    await killRunner(child);
    expect(containersOf(arn)).not.toBe(''); // the container goes on without its runner

    const next = new CleanRoomsMLLocal({ settings: setup.settings, store: setup.store, logger: pino({ level: process.env.CRML_TEST_LOG ?? 'silent' }) });
    await next.reconciled;
    await next.waitForRuns();
    const model = await next.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn });
    expect(model.status).toBe('ACTIVE');
    const lines = setup.store.readLogLines(arn, '').map((l) => l.text);
    expect(lines).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    const tarball = join(setup.dataDir, 'artifacts', arn.split('/').pop()!, 'base', 'model.tar.gz');
    expect(execFileSync('tar', ['-xzOf', tarball, 'model.txt'], { encoding: 'utf8' }).trim()).toBe('survived');
    expect(containersOf(arn)).toBe('');
  });

  it('finishes a run whose container ended while no runner watched, and fails one whose container is gone', async () => {
    await using setup = tempService({ reconcile: false });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(setup);
    const { child, arn } = await startRunnerProcess(setup.dataDir, configuredModelAlgorithmAssociationArn, mlInputChannelArn, {
      sleep_seconds: '1',
      exit_code: '4',
      failure_text: 'ended alone',
    });
    const status = () => setup.store.get<{ status: string }>('trained-model', arn)?.body.status;
    await until(() => status() === 'CREATE_IN_PROGRESS' && containerStarted(arn));
    await killRunner(child);
    await new Promise((r) => setTimeout(r, 2000)); // the container exits on its own meanwhile

    const { child: child2, arn: gone } = await startRunnerProcess(setup.dataDir, configuredModelAlgorithmAssociationArn, mlInputChannelArn, {
      sleep_seconds: '30',
    });
    await until(() => setup.store.get<{ status: string }>('trained-model', gone)?.body.status === 'CREATE_IN_PROGRESS' && containerStarted(gone));
    await killRunner(child2);
    execFileSync('docker', ['rm', '-f', containersOf(gone)]);

    const next = new CleanRoomsMLLocal({ settings: setup.settings, store: setup.store, logger: pino({ level: process.env.CRML_TEST_LOG ?? 'silent' }) });
    await next.reconciled;
    await next.waitForRuns();
    const ended = await next.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn });
    expect(ended.status).toBe('CREATE_FAILED');
    expect(ended.statusDetails).toEqual({ statusCode: 'ALGORITHM_ERROR', message: 'ended alone' });
    const lost = await next.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: gone });
    expect(lost.status).toBe('CREATE_FAILED');
    expect(lost.statusDetails?.statusCode).toBe('INTERNAL_ERROR');
    expect(lost.statusDetails?.message).toContain('container is gone');
    expect(containersOf(arn)).toBe('');
  });

  it('takes over a version of a trained model (incremental training) without touching the base version', async () => {
    await using setup = tempService({ reconcile: false });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(setup);
    const base = await setup.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'base',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { model_text: 'base weights' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await setup.waitForRuns();
    const { child, arn, versionIdentifier } = await startRunnerProcess(
      setup.dataDir, configuredModelAlgorithmAssociationArn, mlInputChannelArn,
      { list_channels_to_stdout: 'true', sleep_seconds: '4', model_text: 'version weights' },
      { extraArgs: ['--incremental-training-data-channels', JSON.stringify([{ trainedModelArn: base.trainedModelArn, channelName: 'model' }])] },
    );
    expect(arn).toBe(base.trainedModelArn);
    expect(versionIdentifier).toMatch(/^[0-9a-f-]{36}$/);
    const status = () => setup.store.get<{ status: string }>('trained-model', arn, versionIdentifier)?.body.status;
    await until(() => status() === 'CREATE_IN_PROGRESS' && setup.store.countLogLines(arn, versionIdentifier).stdout >= 2);
    await killRunner(child);

    const next = new CleanRoomsMLLocal({ settings: setup.settings, store: setup.store, logger: pino({ level: process.env.CRML_TEST_LOG ?? 'silent' }) });
    await next.reconciled;
    await next.waitForRuns();
    const version = await next.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn, versionIdentifier });
    expect(version.status).toBe('ACTIVE');
    expect(setup.store.readLogLines(arn, versionIdentifier).map((l) => l.text)).toEqual([
      'channel-file algo-1 model/model.tar.gz',
      'channel-file algo-1 train/data.csv',
    ]);
    const tarball = (v: string) => join(setup.dataDir, 'artifacts', arn.split('/').pop()!, v, 'model.tar.gz');
    expect(execFileSync('tar', ['-xzOf', tarball(versionIdentifier), 'model.txt'], { encoding: 'utf8' }).trim()).toBe('version weights');
    expect(execFileSync('tar', ['-xzOf', tarball('base'), 'model.txt'], { encoding: 'utf8' }).trim()).toBe('base weights');
    expect(containersOf(arn)).toBe('');
  });

  it('fails a Pipe-mode run it cannot take over: the FIFOs died with their writer', async () => {
    await using setup = tempService({ reconcile: false });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(setup);
    const { child, arn } = await startRunnerProcess(
      setup.dataDir, configuredModelAlgorithmAssociationArn, mlInputChannelArn,
      { read_pipe: 'train', sleep_seconds: '30' },
      { extraArgs: ['--training-input-mode', 'Pipe'] },
    );
    await until(() => setup.store.readLogLines(arn, '').some((l) => l.text.startsWith('pipe algo-1 train_0 ')));
    await killRunner(child);

    const next = new CleanRoomsMLLocal({ settings: setup.settings, store: setup.store, logger: pino({ level: process.env.CRML_TEST_LOG ?? 'silent' }) });
    await next.reconciled;
    await next.waitForRuns();
    const model = await next.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn });
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails).toEqual({
      statusCode: 'INTERNAL_ERROR',
      message: 'cleanrooms-ml-local stopped while it streamed the Pipe-mode channels; a FIFO cannot be resumed, so the run cannot be taken over.',
    });
    expect(containersOf(arn)).toBe('');
    expect(existsSync(join(setup.dataDir, 'artifacts', arn.split('/').pop()!, 'base', '.pipes'))).toBe(false);
  });
});
