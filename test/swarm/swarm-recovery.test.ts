import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CleanRoomsMLLocal } from '../../src/api/service.js';
import { defaultSettings } from '../../src/settings.js';
import { SwarmCluster } from '../../src/runner/swarm/swarm-cluster.js';
import { SwarmTrainingRunner } from '../../src/runner/swarm/swarm-training-runner.js';
import type { LogLine } from '../../src/runner/types.js';
import { probeJobSpec } from '../helpers/job-spec.js';
import { MEMBERSHIP, tempService, trainingSetup, until } from '../helpers/fixtures.js';
import { killRunner, startRunnerProcess } from '../helpers/runner-process.js';
import { leftOnLab, useSwarmLab, MANAGER } from './swarm-lab.js';

const silent = pino({ level: process.env.CRML_TEST_LOG ?? 'silent' });

useSwarmLab();

describe('CRML_ENGINE=swarm: recovery and the limits of placement', () => {
  it('a runner killed mid-run is taken over by the next process: every host finished, its model kept, nothing left', async () => {
    const settings = { placement: 'swarm' as const, engine: { dockerHost: MANAGER } };
    await using setup = tempService({ reconcile: false, settings });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(setup);
    const { child, arn } = await startRunnerProcess(
      setup.dataDir, configuredModelAlgorithmAssociationArn, mlInputChannelArn,
      { print_lines: '3', sleep_seconds: '6', model_text: 'survived' },
      { name: 'swarm-killed-runner', instanceCount: 3, env: { CRML_ENGINE: 'swarm', DOCKER_HOST: MANAGER } },
    );
    const status = () => setup.store.get<{ status: string }>('trained-model', arn)?.body.status;
    await until(() => status() === 'CREATE_IN_PROGRESS' && setup.store.countLogLines(arn, '').stdout === 9, 60_000);
    await killRunner(child);
    expect(leftOnLab(arn)).not.toEqual([]); // the tasks go on without their runner

    const next = new CleanRoomsMLLocal({ settings: setup.settings, store: setup.store, logger: silent });
    await next.reconciled;
    await next.waitForRuns();
    const model = await next.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: arn });
    expect(model.status, JSON.stringify(model.statusDetails)).toBe('ACTIVE');
    // Each host's lines once: the new process skipped what the dead one had stored.
    const lines = setup.store.readLogLines(arn, '').filter((l) => l.text.startsWith('line '));
    for (const host of ['algo-1', 'algo-2', 'algo-3']) expect(lines.filter((l) => l.host === host).map((l) => l.text), host).toEqual(['line 1', 'line 2', 'line 3']);
    const tarball = join(setup.dataDir, 'artifacts', arn.split('/').pop()!, 'base', 'model.tar.gz');
    expect(execFileSync('tar', ['-xzOf', tarball, 'model.txt'], { encoding: 'utf8' }).trim()).toBe('survived');
    expect(leftOnLab(arn)).toEqual([]);
    await next.close();
  });

  it('fails a run whose instance Swarm cannot place within the timeout, naming the host and Swarm\'s reason', async () => {
    // algo-2 gets a constraint no node meets: the others run, algo-2 stays pending (Swarm has no gang scheduling).
    class OneUnplaceable extends SwarmCluster {
      override async createService(spec: Record<string, unknown>): Promise<string> {
        const template = spec.TaskTemplate as { Placement: { Constraints: string[] } };
        if (String(spec.Name).endsWith('-algo-2')) template.Placement.Constraints.push('node.labels.crml.never==true');
        return super.createService(spec);
      }
    }
    const work = mkdtempSync(join(tmpdir(), 'crml-swarm-placement-'));
    try {
      const runner = new SwarmTrainingRunner({
        cluster: new OneUnplaceable(MANAGER),
        logger: silent,
        settings: defaultSettings({ dataDir: work, swarmPlacementTimeoutMs: 3000, stopGracePeriodMs: 1000 }),
      });
      const arn = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/swarm-unplaceable';
      const result = await runner.run(
        probeJobSpec({ trainedModelArn: arn, name: 'unplaceable', artifactsDir: work, instanceCount: 3, hyperparameters: { sleep_seconds: '60' } }),
        { onStarted: () => undefined, onLogLine: () => undefined, onMetric: () => undefined },
        new AbortController().signal,
      );
      expect(result.statusCode).toBe('INTERNAL_ERROR');
      // algo-2 is named with Swarm's reason; on a busy machine another host may still be starting and is listed too.
      expect(result.message).toMatch(/^Swarm did not start every instance within 3 seconds \(CRML_SWARM_PLACEMENT_TIMEOUT_SECONDS\); still waiting: (?:algo-[13] on node crml-lab-n[13] \([^)]*\); )*algo-2 on node crml-lab-n2 \(pending: no suitable node/);
      expect(leftOnLab(arn)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('reconciliation removes a run of the store that no record keeps: its services, containers, volumes, configs, network', async () => {
    const work = mkdtempSync(join(tmpdir(), 'crml-swarm-stray-'));
    try {
      const settings = defaultSettings({ dataDir: work, stopGracePeriodMs: 1000 });
      const runner = new SwarmTrainingRunner({ cluster: new SwarmCluster(MANAGER), logger: silent, settings });
      const arn = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/swarm-stray';
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const orphan = runner.run(
        probeJobSpec({ trainedModelArn: arn, name: 'stray', artifactsDir: work, instanceCount: 2, hyperparameters: { sleep_seconds: '120' }, labels: { 'crml.store': 'swarm-stray-test' } }),
        { onStarted: () => started(), onLogLine: () => undefined, onMetric: () => undefined },
        new AbortController().signal,
      );
      await running;
      const other = new SwarmTrainingRunner({ cluster: new SwarmCluster(MANAGER), logger: silent, settings });
      // Another store's runs and the runs this store keeps are left alone.
      expect(await other.removeStrayRuns('some-other-store', () => false)).toBe(0);
      expect(await other.removeStrayRuns('swarm-stray-test', () => true)).toBe(0);
      expect(await other.removeStrayRuns('swarm-stray-test', ({ trainedModelArn }) => trainedModelArn !== arn)).toBe(2);
      expect(leftOnLab(arn)).toEqual([]);
      expect((await orphan).succeeded).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses Pipe mode with a clear message before anything is made on the swarm', async () => {
    const work = mkdtempSync(join(tmpdir(), 'crml-swarm-pipe-'));
    try {
      const runner = new SwarmTrainingRunner({ cluster: new SwarmCluster(MANAGER), logger: silent, settings: defaultSettings({ dataDir: work }) });
      const lines: LogLine[] = [];
      const arn = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/swarm-pipe';
      const result = await runner.run(
        probeJobSpec({
          trainedModelArn: arn, name: 'pipe', artifactsDir: work, instanceCount: 2, trainingInputMode: 'Pipe',
          channels: [{ channelName: 'train', hostPath: work, contentType: 'text/csv', s3DataDistributionType: 'FullyReplicated' }],
        }),
        { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined },
        new AbortController().signal,
      );
      expect(result.statusCode).toBe('INTERNAL_ERROR');
      expect(result.message).toMatch(/^trainingInputMode Pipe is not offered on a Docker Swarm \(CRML_ENGINE=swarm\)/);
      expect(leftOnLab(arn)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
