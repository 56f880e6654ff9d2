// The example training images, run by hand with `docker run` the way the runner starts them: the image's own
// entrypoint with Cmd ["train"], a fake /opt/ml (config and channels read-only), no network, no capabilities.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const PROBE = 'crml-examples/probe:latest';
const LINEAR_REGRESSION = 'crml-examples/linear-regression:latest';
const SHIPPED_DATA = resolve('examples/algorithms/linear-regression/data');

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function docker(args: string[]): Promise<Exec> {
  return new Promise((done) => {
    execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

interface Job {
  /** The host folder standing in for /opt/ml. */
  ml: string;
  name: string;
  /** Channel name → host folder, mounted read-only under /opt/ml/input/data. */
  channels: Record<string, string>;
}

const jobs: Job[] = [];

/** A fake /opt/ml on the host: config files, and the named channels as host folders. */
function fakeJob(hyperparameters: Record<string, string>, channels: Record<string, string> = {}): Job {
  const ml = mkdtempSync(join(tmpdir(), 'crml-images-'));
  for (const dir of ['input/config', 'model', 'output/data']) mkdirSync(join(ml, dir), { recursive: true });
  writeFileSync(join(ml, 'input/config/hyperparameters.json'), JSON.stringify(hyperparameters));
  const inputDataConfig = Object.fromEntries(
    Object.keys(channels).map((name) => [name, { ContentType: 'text/csv', TrainingInputMode: 'File' }]),
  );
  writeFileSync(join(ml, 'input/config/inputdataconfig.json'), JSON.stringify(inputDataConfig));
  const job: Job = { ml, name: `crml-test-images-${randomBytes(4).toString('hex')}`, channels };
  jobs.push(job);
  return job;
}

function runArgs(job: Job, image: string, extra: string[] = []): string[] {
  const mounts = [
    '-v', `${job.ml}/input/config:/opt/ml/input/config:ro`,
    '-v', `${job.ml}/model:/opt/ml/model`,
    '-v', `${job.ml}/output:/opt/ml/output`,
  ];
  for (const [name, dir] of Object.entries(job.channels)) mounts.push('-v', `${dir}:/opt/ml/input/data/${name}:ro`);
  return [
    '--name', job.name, '--label', 'crml.test=1',
    '--network', 'none', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--pids-limit', '256',
    ...mounts, ...extra, image, 'train',
  ];
}

async function state(job: Job): Promise<{ ExitCode: number; OOMKilled: boolean }> {
  const { stdout } = await docker(['inspect', '-f', '{{json .State}}', job.name]);
  return JSON.parse(stdout) as { ExitCode: number; OOMKilled: boolean };
}

const read = (job: Job, path: string) => readFileSync(join(job.ml, path), 'utf8');

beforeAll(async () => {
  for (const image of [PROBE, LINEAR_REGRESSION]) {
    const { code } = await docker(['image', 'inspect', image]);
    if (code !== 0) throw new Error(`image ${image} is missing: run bash scripts/build-images.sh`);
  }
});

afterEach(async () => {
  for (const job of jobs.splice(0)) {
    await docker(['rm', '-f', '-v', job.name]);
    rmSync(job.ml, { recursive: true, force: true });
  }
});

describe('probe image', () => {
  it('writes down what the container sees and behaves as its hyperparameters say', async () => {
    const data = mkdtempSync(join(tmpdir(), 'crml-images-data-'));
    try {
      writeFileSync(join(data, 'a.csv'), '1,2\n');
      const job = fakeJob(
        { print_lines: '3', print_stderr_lines: '2', print_text: 'loss=0.5\\nloss=0.25', exit_code: '3', failure_text: 'it broke' },
        { train: data },
      );
      const run = await docker(['run', ...runArgs(job, PROBE, ['--memory', '96m', '--memory-swap', '96m', '--cpus', '1'])]);

      expect(run.code).toBe(3);
      expect(run.stdout).toBe('loss=0.5\nloss=0.25\nline 1\nline 2\nline 3\n');
      expect(run.stderr).toBe('stderr line 1\nstderr line 2\n');
      expect(read(job, 'output/failure')).toBe('it broke\n');
      expect(read(job, 'model/partial.txt')).not.toBe('');
      expect(read(job, 'model/model.txt')).toBe('probe model\n');
      expect(read(job, 'output/data/probe.done')).toBe('exit_code=3\n');
      expect(read(job, 'output/data/argv.txt')).toBe('train\n');
      expect(read(job, 'output/data/env.txt')).toMatch(/^PATH=/m);
      expect(JSON.parse(read(job, 'output/data/config/hyperparameters.json'))).toMatchObject({ exit_code: '3' });
      expect(read(job, 'output/data/channels.txt')).toBe('dir train/\n4 train/a.csv\n');
      const limits = read(job, 'output/data/limits.txt');
      expect(limits).toMatch(/^memory_limit_bytes=100663296$/m);
      expect(limits).toMatch(/^swap_limit_bytes=0$/m);
      expect(limits).toMatch(/^cpus=1\.00$/m);
      expect(limits).toMatch(/^pids_max=256$/m);
      expect(limits).toMatch(/^shm_size_bytes=67108864$/m);
      expect(read(job, 'output/data/network.txt')).toMatch(/^interfaces=lo$/m);
      expect(read(job, 'output/data/capabilities.txt')).toMatch(/^CapEff:\s+0000000000000000$/m);
      expect(read(job, 'output/data/capabilities.txt')).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(read(job, 'output/data/mounts.txt')).toMatch(/ \/opt\/ml\/input\/data\/train \S+ ro[ ,]/);
      expect(read(job, 'output/data/id.txt')).toMatch(/^uid=0\(root\)/);
      const writable = read(job, 'output/data/writable.txt');
      expect(writable).toMatch(/^\/opt\/ml\/input\/data\/train=no$/m);
      expect(writable).toMatch(/^\/opt\/ml\/input\/config=no$/m);
      expect(writable).toMatch(/^\/opt\/ml\/model=yes$/m);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('stops on SIGTERM in the middle of a sleep, leaving partial.txt but no model.txt', async () => {
    const job = fakeJob({ sleep_seconds: '120' });
    expect((await docker(['run', '-d', ...runArgs(job, PROBE)])).code).toBe(0);
    await waitFor(() => existsSync(join(job.ml, 'output/data/writable.txt')));
    const started = Date.now();
    await docker(['stop', '-t', '30', job.name]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await state(job)).ExitCode).toBe(143);
    expect(existsSync(join(job.ml, 'model/partial.txt'))).toBe(true);
    expect(existsSync(join(job.ml, 'model/model.txt'))).toBe(false);
  });

  it('ignores SIGTERM when told to, so only the kill after the grace period ends it', async () => {
    const job = fakeJob({ sleep_seconds: '120', ignore_sigterm: 'true' });
    expect((await docker(['run', '-d', ...runArgs(job, PROBE)])).code).toBe(0);
    await waitFor(() => existsSync(join(job.ml, 'output/data/writable.txt')));
    const started = Date.now();
    await docker(['stop', '-t', '2', job.name]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect((await state(job)).ExitCode).toBe(137);
    expect((await docker(['logs', job.name])).stderr).toContain('SIGTERM received and ignored');
  });

  it('is killed for memory when it allocates more than the limit', async () => {
    const job = fakeJob({ allocate_mb: '200' });
    const run = await docker(['run', ...runArgs(job, PROBE, ['--memory', '64m', '--memory-swap', '64m'])]);
    expect(run.code).toBe(137);
    expect(await state(job)).toMatchObject({ OOMKilled: true, ExitCode: 137 });
  });

  it('fails with a reason when a hyperparameter is not a number', async () => {
    const job = fakeJob({ print_lines: 'many' });
    const run = await docker(['run', ...runArgs(job, PROBE)]);
    expect(run.code).toBe(2);
    expect(read(job, 'output/failure')).toBe("hyperparameter 'print_lines' must be a whole number, got 'many'\n");
  });
});

describe('linear-regression image', () => {
  it('converges on the shipped data and writes the model and metrics', async () => {
    const job = fakeJob(
      { epochs: '8' },
      { train: join(SHIPPED_DATA, 'train'), validation: join(SHIPPED_DATA, 'validation') },
    );
    const run = await docker(['run', ...runArgs(job, LINEAR_REGRESSION)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    const metric = /^epoch=(\d+) train_loss=(\d+\.\d{6}) validation_loss=(\d+\.\d{6})$/;
    const losses = lines.map((line, i) => {
      const m = metric.exec(line);
      expect(m, line).not.toBeNull();
      expect(Number(m![1])).toBe(i + 1);
      return { train: Number(m![2]), validation: Number(m![3]) };
    });
    expect(losses.at(-1)!.train).toBeLessThan(losses[0]!.train / 10);
    expect(losses.at(-1)!.validation).toBeLessThan(0.05);

    const model = JSON.parse(read(job, 'model/model.json')) as { feature_count: number; weights: number[]; bias: number };
    expect(model.feature_count).toBe(3);
    [2, -3, 0.5].forEach((w, i) => expect(model.weights[i]).toBeCloseTo(w, 1));
    expect(model.bias).toBeCloseTo(1, 1);
    expect(existsSync(join(job.ml, 'model/weights.npy'))).toBe(true);
    const metrics = JSON.parse(read(job, 'output/data/metrics.json')) as { epochs: number; history: unknown[] };
    expect(metrics.epochs).toBe(8);
    expect(metrics.history).toHaveLength(8);
    expect(existsSync(join(job.ml, 'output/failure'))).toBe(false);
  });

  it('prints no validation_loss without a validation channel', async () => {
    const job = fakeJob({ epochs: '2' }, { train: join(SHIPPED_DATA, 'train') });
    const run = await docker(['run', ...runArgs(job, LINEAR_REGRESSION)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^epoch=1 train_loss=\d+\.\d{6}\nepoch=2 train_loss=\d+\.\d{6}\n$/);
  });

  it('fails with a reason for a bad hyperparameter', async () => {
    const job = fakeJob({ learning_rate: 'fast' }, { train: join(SHIPPED_DATA, 'train') });
    const run = await docker(['run', ...runArgs(job, LINEAR_REGRESSION)]);
    expect(run.code).toBe(1);
    expect(read(job, 'output/failure')).toBe(
      "hyperparameter 'learning_rate' must be a number greater than 0 and at most 10, got 'fast'",
    );
  });

  it('fails with a reason when the train channel is missing', async () => {
    const job = fakeJob({});
    const run = await docker(['run', ...runArgs(job, LINEAR_REGRESSION)]);
    expect(run.code).toBe(1);
    expect(read(job, 'output/failure')).toBe("missing channel 'train': /opt/ml/input/data/train does not exist");
  });
});

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
