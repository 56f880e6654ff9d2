import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingContainer, type StartedTrainingJob } from '../../src/testcontainers/index.js';
import { trainingMatchers } from '../../src/testcontainers/vitest.js';
import { LABEL_DIR } from '../../src/testcontainers/test-process-owner.js';

expect.extend(trainingMatchers);

const docker = new Docker();
const PROBE = 'crml-examples/probe:latest';
const algorithm = fileURLToPath(new URL('../../examples/algorithms/linear-regression/', import.meta.url));

/** What the engine holds of one TrainingContainer (by the folder label every container and network of it carries). */
async function leftovers(label: string) {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  return { containers, networks };
}

/** The job's temporary folder, as its containers are labelled. */
async function jobDir(job: StartedTrainingJob): Promise<string> {
  for (;;) {
    const [c] = await docker.listContainers({ all: true, filters: { label: [`crml.trained-model=${job.trainedModelArn}`] } });
    if (c?.Labels[LABEL_DIR]) return c.Labels[LABEL_DIR];
    await sleep(100);
  }
}

describe('TrainingContainer', () => {
  let data: string;
  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'crml-tc-test-data-'));
    await writeFile(join(data, 'rows.csv'), '1,2\n');
  });
  afterAll(async () => {
    await rm(data, { recursive: true, force: true });
    // Only what these tests made (their label), should a test have failed half-way.
    const { containers, networks } = await leftovers('crml-tests');
    for (const c of containers) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    for (const n of networks) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  });

  it('fails an assertion the model cannot meet, naming the metric, its value, the bound and the run', async () => {
    await using result = await TrainingContainer.fromDockerfile(algorithm)
      .withChannel('train', join(algorithm, 'data/train'))
      .withChannel('validation', join(algorithm, 'data/validation'))
      .withHyperparameters({ epochs: 3 })
      .withMetric('validation:loss', 'validation_loss=([0-9.eE+-]+)')
      .withLabels({ 'crml-tests': 'tc' })
      .run();
    expect(result).toBeActive();
    const loss = result.finalMetric('validation:loss');
    expect(loss).toBeGreaterThan(0);
    expect(result.metrics['validation:loss']!.points).toHaveLength(3);
    expect(result.imageDigest).toMatch(/^sha256:/);
    expect(result.exitCode).toBe(0);

    let message = '';
    try {
      expect(result).toHaveFinalMetric('validation:loss', { below: 0.000001 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('to have a final validation:loss below 0.000001');
    expect(message).toContain(`but validation:loss was ${loss}`);
    expect(message).toContain(`trained model ${result.trainedModelArn}`);
    expect(message).toContain('ACTIVE');
    expect(message).toContain('epoch=3 train_loss=');
    expect(() => expect(result).toHaveFinalMetric('train:loss', { below: 1 })).toThrow(/reported no train:loss \(metrics: validation:loss\)/);
    expect(() => expect(result).toHaveModelFile('weights.bin')).toThrow(/holds .*model\.json/);
  });

  it('a failed run: its status code, message and exit code, and matchers that say so', async () => {
    await using result = await new TrainingContainer(PROBE)
      .withChannel('train', data)
      .withHyperparameters({ exit_code: 3, failure_text: 'it broke', print_text: 'loss=0.5' })
      .withMetric('loss', 'loss=([0-9.]+)')
      .withLabels({ 'crml-tests': 'tc' })
      .run();
    expect(result).toHaveFailedWith('ALGORITHM_ERROR');
    expect(result).toHaveFailedWith('it broke');
    expect(result).not.toBeActive();
    expect(result).toHaveLogLine('loss=0.5');
    expect(result.exitCode).toBe(3);
    expect(result.finalMetric('loss')).toBe(0.5);
    expect(() => expect(result).toBeActive()).toThrow(/to be ACTIVE, but it is CREATE_FAILED\n.*ALGORITHM_ERROR.*it broke/);
    expect(() => expect(result).toHaveFailedWith('OUT_OF_MEMORY')).toThrow(/but it failed with ALGORITHM_ERROR: it broke/);
  });

  it('`await using` a started job: logs follow it, and leaving the scope leaves no container, network or folder', async () => {
    let dir = '';
    {
      await using job = await new TrainingContainer(PROBE)
        .withChannel('train', data)
        .withInstanceCount(2)
        .withHyperparameters({ print_text: 'hello from the probe', sleep_seconds: 120 })
        .withLabels({ 'crml-tests': 'tc' })
        .start();
      const lines = createInterface({ input: job.logs() });
      for await (const line of lines) if (line.includes('hello from the probe')) break;
      dir = await jobDir(job);
      const { containers, networks } = await leftovers(`${LABEL_DIR}=${dir}`);
      expect(containers).toHaveLength(2);
      expect(networks).toHaveLength(1);
      for (const labels of [...containers.map((c) => c.Labels), networks[0]!.Labels ?? {}]) {
        expect(labels).toMatchObject({ 'org.testcontainers': 'true', 'crml-tests': 'tc' });
        expect(labels['org.testcontainers.session-id']).toMatch(/^[0-9a-f-]{8,}$/);
      }
      expect(existsSync(dir)).toBe(true);
    }
    expect(await leftovers(`${LABEL_DIR}=${dir}`)).toEqual({ containers: [], networks: [] });
    expect(existsSync(dir)).toBe(false);
  });

  it('stop() cancels a run and resolves with how it ended; again, or on leaving the scope, it changes nothing', async () => {
    await using job = await new TrainingContainer(PROBE)
      .withChannel('train', data)
      .withHyperparameters({ sleep_seconds: 120 })
      .withLabels({ 'crml-tests': 'tc' })
      .start();
    while ((await job.status()) !== 'CREATE_IN_PROGRESS') await sleep(100);
    const dir = await jobDir(job);
    const started = Date.now();
    const result = await job.stop();
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result).not.toBeActive();
    expect(result.statusCode).toBe('CANCELLED');
    expect(await job.stop()).toBe(result);
    expect(await leftovers(`${LABEL_DIR}=${dir}`)).toEqual({ containers: [], networks: [] });
  });

  it('refuses what a user can get wrong, saying what', async () => {
    expect(() => new TrainingContainer(' ')).toThrow('TrainingContainer needs an image reference, such as my-algo:dev');
    expect(() => new TrainingContainer(PROBE).withHyperparameters({ epochs: { n: 1 } as unknown as string })).toThrow(
      'Hyperparameter epochs must be a string, number or boolean (AWS takes them as text), got object',
    );
    expect(() => new TrainingContainer(PROBE).withBuildArgs({ A: 'b' })).toThrow(/withBuildArgs is for TrainingContainer.fromDockerfile/);
    expect(() => expect({ status: 'ACTIVE' }).toBeActive()).toThrow(/toBeActive expects a TrainingResult/);
    // The API's own validation, before anything is created; nothing is left behind.
    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('crml-testcontainers-'));
    await expect(new TrainingContainer(PROBE).withChannel('train', data).withInstanceCount(9).start()).rejects.toThrow(/instanceCount/);
    await expect(new TrainingContainer(PROBE).withChannel('train', data).withLabels({ 'crml.x': 'y' }).start()).rejects.toThrow(/crml\./);
    expect((await readdir(tmpdir())).filter((n) => n.startsWith('crml-testcontainers-'))).toEqual(before);
  });

  it('a test process killed mid-run (SIGKILL) leaves nothing once the next TrainingContainer starts', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/killed-test-process.ts', import.meta.url))], {
      env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const [first] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
    const { trainedModelArn, data: childData } = JSON.parse(first!) as { trainedModelArn: string; data: string };
    try {
      const [c] = await docker.listContainers({ all: true, filters: { label: [`crml.trained-model=${trainedModelArn}`] } });
      const dir = c!.Labels[LABEL_DIR]!;
      child.kill('SIGKILL');
      await exited;
      // What the killed process left: both hosts still running, their network, its folder.
      const left = await leftovers(`${LABEL_DIR}=${dir}`);
      expect(left.containers.map((x) => x.State)).toEqual(['running', 'running']);
      expect(left.networks).toHaveLength(1);
      expect(existsSync(dir)).toBe(true);

      const next = await new TrainingContainer(PROBE).withChannel('train', data).withLabels({ 'crml-tests': 'tc' }).start();
      await using result = await next.finish();
      expect(result).toBeActive();
      expect(await leftovers(`${LABEL_DIR}=${dir}`)).toEqual({ containers: [], networks: [] });
      expect(existsSync(dir)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await rm(childData, { recursive: true, force: true });
    }
  });
});
