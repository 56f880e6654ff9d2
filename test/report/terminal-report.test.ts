import { describe, expect, it } from 'vitest';
import { CHANNEL_SHA256, crml, crmlInTerminal, scriptedService, trainAll, type ScriptedRun } from './scripted-runs.js';
import { MEMBERSHIP, waitForStatus } from '../helpers/fixtures.js';

const ESC = '\u001b';

const RUNS: ScriptedRun[] = [
  {
    name: 'run-a',
    hyperparameters: { epochs: '3', lr: '0.1' },
    environment: { SECRET_TOKEN: 'hunter2-do-not-print', MODE: 'fast' },
    instanceCount: 2,
    metrics: { loss: { 'algo-1': [0.9, 0.5, 0.3, 0.2, 0.15], 'algo-2': [0.8, 0.45, 0.31, 0.22, 0.18] }, accuracy: { 'algo-1': [0.5, 0.7, 0.8] } },
    lines: [
      { stream: 'stdout', text: 'epoch 1 loss=0.9' },
      // A container may print escape sequences: a report never passes them to the terminal.
      { stream: 'stdout', text: `sneaky ${ESC}]0;pwned${ESC}\\ ${ESC}[2J title` },
    ],
  },
  {
    name: 'run-b',
    hyperparameters: { epochs: '3', lr: '0.2', batch: '64' },
    metrics: { loss: { 'algo-1': [1.0, 0.7, 0.4, 0.35] } },
    lines: [{ stream: 'stderr', text: 'Traceback: ValueError: bad row 17' }],
    failure: 'ValueError: bad row 17',
  },
];

describe('crml report and crml compare in the terminal', () => {
  it('prints the facts and a chart per metric and host, without ANSI when stdout is not a terminal', async () => {
    await using service = scriptedService(RUNS);
    const arns = await trainAll(service, RUNS);
    const model = await service.getTrainedModel({ membershipIdentifier: service.settings.defaultMembershipId, trainedModelArn: arns['run-a']! });

    const { code, stdout, stderr } = await crml(service.dataDir, ['report', 'run-a']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toContain(ESC);
    const lines = stdout.split('\n');
    const has = (re: RegExp) => expect(lines.some((l) => re.test(l)), `a line matching ${re}`).toBe(true);
    has(/^Trained model run-a$/);
    has(new RegExp(`ARN\\s+${arns['run-a']!.replace(/[/.]/g, '\\$&')}$`));
    has(/Status\s+ACTIVE$/);
    has(/Instances\s+ml\.m5\.large × 2, volume 1 GB, max runtime 86400 s, input mode File$/);
    has(/Limits applied\s+2 vCPUs, 8\.0 GiB memory, 0 GPUs, \/dev\/shm 4\.0 GiB$/);
    has(/Hyperparameters\s+epochs=3$/);
    has(/^\s+lr=0\.1$/);
    has(/Environment\s+MODE, SECRET_TOKEN \(names only\)$/);
    expect(stdout).not.toContain('hunter2');
    has(new RegExp(`Channels\\s+train  sha256:${CHANNEL_SHA256}$`));
    has(new RegExp(`Image digest\\s+${model.trainingContainerImageDigest}$`));
    has(/Artifacts\s+\/.+\/model\.tar\.gz$/);
    has(/^\s+\/.+\/manifest\.json$/);
    has(/Timeline\s+\S+Z {2}CREATE_PENDING$/);
    has(/^\s+\S+Z {2}ACTIVE {2}\(\+/);

    // One chart per metric and host, each with its title, its points and asciichart's axis.
    for (const [title, points] of [['accuracy · algo-1', 3], ['loss · algo-1', 5], ['loss · algo-2', 5]] as const) {
      const at = lines.findIndex((l) => l.startsWith(`${title} · ${points} points`));
      expect(at, title).toBeGreaterThan(0);
      const chart = lines.slice(at + 1, at + 10);
      expect(chart.every((l) => /[┤┼]/.test(l)), `${title}: 9 chart rows`).toBe(true);
    }
    const losses = lines.findIndex((l) => l.startsWith('loss · algo-1'));
    expect(lines[losses]).toBe('loss · algo-1 · 5 points · last 0.15 (min 0.15, max 0.9)');
    expect(lines.findIndex((l) => l.startsWith('accuracy'))).toBeLessThan(losses);

    // The log's last lines, with the container's escape sequences made harmless.
    has(/^Log: last 2 of 2 lines$/);
    has(/^ {2}algo-1 stdout sneaky \uFFFD\]0;pwned\uFFFD\\ \uFFFD\[2J title$/);
  });

  it('says why a failed run failed: status code, message and the stderr lines before the failure', async () => {
    await using service = scriptedService(RUNS);
    await trainAll(service, RUNS);
    const { code, stdout } = await crml(service.dataDir, ['report', 'run-b']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Status\s+CREATE_FAILED · ALGORITHM_ERROR\n/);
    expect(stdout).toMatch(/Message\s+ValueError: bad row 17\n/);
    expect(stdout).toMatch(/Exit code\s+2\n/);
    expect(stdout).toContain('Log: stderr before the failure (last 1)\n  algo-1 stderr Traceback: ValueError: bad row 17\n');
  });

  it('uses colour on a terminal', async () => {
    await using service = scriptedService(RUNS);
    await trainAll(service, RUNS);
    const out = await crmlInTerminal(service.dataDir, ['report', 'run-a']);
    expect(out).toContain(`${ESC}[1mTrained model run-a`);
    expect(out).toMatch(/loss.*algo-1 · 5 points/);
    // asciichart's colour around the plotted line.
    expect(out).toContain(`${ESC}[34m`);
  });

  it('compares runs: differing hyperparameters only, final metrics, durations and overlaid charts', async () => {
    await using service = scriptedService(RUNS);
    const arns = await trainAll(service, RUNS);
    const { code, stdout, stderr } = await crml(service.dataDir, ['compare', 'run-a', arns['run-b']!]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toContain(ESC);
    const lines = stdout.split('\n');
    const row = (label: string) => lines.find((l) => l.trimStart().startsWith(label))?.trim().split(/\s{2,}/);
    expect(row('run-a')).toEqual(['run-a', 'run-b']);
    expect(row('Status')).toEqual(['Status', 'ACTIVE', 'CREATE_FAILED']);
    expect(row('Status code')).toEqual(['Status code', '-', 'ALGORITHM_ERROR']);
    expect(row('Duration')?.slice(1)).toEqual([expect.stringMatching(/^\d+ ms$|^[\d.]+ s$/), expect.stringMatching(/^\d+ ms$|^[\d.]+ s$/)]);
    expect(row('Instances')).toEqual(['Instances', 'ml.m5.large × 2', 'ml.m5.large × 1']);
    expect(stdout).toContain('Hyperparameters that differ');
    expect(row('batch')).toEqual(['batch', '(not set)', '64']);
    expect(row('lr')).toEqual(['lr', '0.1', '0.2']);
    expect(row('epochs')).toBeUndefined();
    expect(row('loss · algo-1')).toEqual(['loss · algo-1', '0.15', '0.35']);
    expect(row('loss · algo-2')).toEqual(['loss · algo-2', '0.18', '-']);
    expect(row('accuracy · algo-1')).toEqual(['accuracy · algo-1', '0.8', '-']);

    // One chart per metric; the loss chart overlays three series (two hosts of run-a, one of run-b).
    const loss = lines.indexOf('loss (by point number; one series per run and host)');
    expect(loss).toBeGreaterThan(0);
    expect(lines.slice(loss + 1, loss + 4)).toEqual([
      '  ━━ 1. run-a · algo-1: 5 points, last 0.15',
      '  ━━ 2. run-a · algo-2: 5 points, last 0.18',
      '  ━━ 3. run-b · algo-1: 4 points, last 0.35',
    ]);
    expect(lines.slice(loss + 4, loss + 13).every((l) => /[┤┼]/.test(l))).toBe(true);
    expect(lines).toContain('accuracy (by point number; one series per run and host)');
  });

  it('reports and compares a version of a trained model (--version-identifier, ARN@version)', async () => {
    const runs: ScriptedRun[] = [...RUNS, { name: 'run-a-more', hyperparameters: { epochs: '1' }, metrics: { loss: { 'algo-1': [0.1, 0.09] } } }];
    await using service = scriptedService(runs);
    const arns = await trainAll(service, RUNS.slice(0, 1));
    const base = await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arns['run-a']! });
    const { versionIdentifier } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'run-a-more', configuredModelAlgorithmAssociationArn: base.configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 }, hyperparameters: { epochs: '1' },
      dataChannels: base.dataChannels, incrementalTrainingDataChannels: [{ trainedModelArn: arns['run-a']!, channelName: 'model' }],
    });
    await waitForStatus(service, arns['run-a']!, undefined, 60_000, versionIdentifier);

    const report = await crml(service.dataDir, ['report', arns['run-a']!, '--version-identifier', versionIdentifier!]);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain(`Trained model run-a-more@${versionIdentifier!.slice(0, 8)}\n`);
    expect(report.stdout).toMatch(new RegExp(`Version\\s+${versionIdentifier}\n`));
    expect(report.stdout).toMatch(/Channels\s+train {2}sha256:c{64}\n\s+model {2}\(no hash recorded\)\n/);
    expect(report.stdout).toContain('loss · algo-1 · 2 points · last 0.09');

    const compare = await crml(service.dataDir, ['compare', `${arns['run-a']}@${versionIdentifier}`, 'run-a']);
    expect(compare.code).toBe(0);
    // Without a version, a trained model is its latest version (as GetTrainedModel answers): the same run twice.
    expect(compare.stdout).toContain('Hyperparameters: the same in every run\n');
    expect(compare.stdout).toContain(`run-a-more@${versionIdentifier!.slice(0, 8)}`);
  });

  it('answers an unknown trained model with the API error (exit 254), and needs two models to compare', async () => {
    await using service = scriptedService(RUNS);
    await trainAll(service, RUNS.slice(0, 1));
    const unknown = await crml(service.dataDir, ['report', 'no-such-model']);
    expect(unknown.code).toBe(254);
    expect(unknown.stderr).toBe('\nAn error occurred (ResourceNotFoundException) when calling the report operation: Trained model no-such-model not found.\n');
    const version = await crml(service.dataDir, ['report', 'run-a', '--version-identifier', '00000000-0000-4000-8000-000000000009']);
    expect(version.code).toBe(254);
    expect(version.stderr).toContain('(ResourceNotFoundException)');
    const inCompare = await crml(service.dataDir, ['compare', 'run-a', 'no-such-model']);
    expect(inCompare.code).toBe(254);
    expect(inCompare.stderr).toContain('(ResourceNotFoundException) when calling the compare operation: Trained model no-such-model not found.');
    const one = await crml(service.dataDir, ['compare', 'run-a']);
    expect(one.code).toBe(252);
    expect(one.stderr).toBe('crml: compare needs two trained models or more, got 1.\n');
  });
});
