import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { daemonDir } from '../helpers/daemon-dir.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'dist/bin/crml.cjs');
const IMAGE = 'crml-examples/probe:latest';
const exec = promisify(execFile);

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** `crml <args>` as a user runs the built command; `onStdout` sees its output as it comes. */
function crml(args: string[], env: Record<string, string>, opts: { cwd?: string; onStdout?: (soFar: string, pid: number) => void } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout, child.pid!);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid! }));
  });
}

/** The pids in the runner's own JSON log lines: the process that ran the command. */
const logPids = (stderr: string) => new Set(stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { pid: number }).pid));

const status = async (env: Record<string, string>) =>
  JSON.parse((await exec(process.execPath, [BIN, 'daemon', 'status'], { env: { ...process.env, ...env } })).stdout) as { socket: string | null; pid: number | null; running: boolean };

describe('the resident worker (crml with CRML_DAEMON unset)', () => {
  const daemons = daemonDir();
  const work = mkdtempSync(join(tmpdir(), 'crml-daemon-work-'));
  const env = (dataDir: string) => ({ CRML_DAEMON_DIR: daemons.dir, CRML_DATA_DIR: join(work, dataDir) });

  beforeAll(async () => {
    await exec('node', ['scripts/bundle-cli.mjs'], { cwd: ROOT, timeout: 120_000 });
    mkdirSync(join(work, 'project', 'empty'), { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await daemons.stopAll();
    rmSync(work, { recursive: true, force: true });
  });

  it('starts after a first command run in its own process; later commands run in a worker with the caller\'s folder, environment and exit codes', async () => {
    expect((await status(env('a'))).running).toBe(false);
    const first = await crml(['--log-level', 'debug', 'list-trained-models'], env('a'));
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ trainedModels: [] });
    for (let i = 0; i < 100 && !(await status(env('a'))).running; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await status(env('a'))).running).toBe(true);

    // A relative channel path, resolved against the caller's folder; another data dir than the first command's.
    const trained = await crml(['--log-level', 'debug', 'train', '--name', 'in-worker', '--image', IMAGE, '--entrypoint', '/bin/true', '--channel', 'train=./empty'], env('b'), { cwd: join(work, 'project') });
    expect(trained.code).toBe(0);
    expect(trained.stdout).toMatch(/^status ACTIVE$/m);
    const pids = logPids(trained.stderr);
    expect(pids.size).toBe(1);
    expect(pids.has(trained.pid)).toBe(false);
    const listed = await crml(['list-trained-models', '--query', 'trainedModels[].name', '--output', 'text'], { ...env('b'), CRML_DAEMON: '0' });
    expect(listed.stdout.trim()).toBe('in-worker');
    expect(JSON.parse((await crml(['list-trained-models'], env('a'))).stdout)).toEqual({ trainedModels: [] });

    const bad = await crml(['get-trained-model', '--trained-model-arn', 'nope'], env('b'));
    expect(bad.code).toBe(254);
    expect(bad.stderr).toMatch(/\(ValidationException\) when calling the GetTrainedModel operation/);
    expect((await crml(['no-such-command'], env('b'))).code).toBe(252);
  }, 120_000);

  it('stops a run on Ctrl-C at the caller as its own process would, and leaves no container', async () => {
    let interrupted = false;
    const ran = await crml(['train', '--name', 'interrupted', '--image', IMAGE, '--entrypoint', '["/bin/sh","-c","trap \'exit 143\' TERM; sleep 60 & wait"]', '--channel', `train=${join(work, 'project', 'empty')}`], env('c'), {
      onStdout: (soFar, pid) => {
        if (!interrupted && /^status CREATE_IN_PROGRESS$/m.test(soFar)) {
          interrupted = true;
          process.kill(pid, 'SIGINT');
        }
      },
    });
    expect(ran.code).toBe(130);
    expect(ran.stderr).toContain('Cancelling…');
    expect(ran.stdout).toMatch(/^status-code CANCELLED$/m);
    const arn = /^trained-model (\S+)/m.exec(ran.stdout)![1]!;
    const { stdout: left } = await exec('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${arn}`]);
    expect(left.trim()).toBe('');
  }, 120_000);

  it('stops writing when the reader goes away (| head -1), exiting 0 as its own process does', async () => {
    const lines = await crml(['train', '--name', 'many-lines', '--image', IMAGE, '--entrypoint', '["/bin/sh","-c","seq 1 20000"]', '--channel', `train=${join(work, 'project', 'empty')}`], env('d'));
    const arn = /^trained-model (\S+)/m.exec(lines.stdout)![1]!;
    const e = { ...process.env, ...env('d') };
    const { stdout } = await exec('bash', ['-c', `node "${BIN}" logs "${arn}" | head -1; echo "exit=\${PIPESTATUS[0]}"`], { env: e });
    expect(stdout).toMatch(/^\S+ algo-1 stdout 1\nexit=0\n$/);
    // Every line, in order, also for a reader that falls behind (the pipe fills while it sleeps).
    const digest = async (cmd: string, more: Record<string, string> = {}) => (await exec('bash', ['-c', cmd], { env: { ...e, ...more } })).stdout;
    const own = await digest(`node "${BIN}" logs "${arn}" | sha256sum; node "${BIN}" logs "${arn}" | wc -l`, { CRML_DAEMON: '0' });
    expect(own).toMatch(/\n20000\n$/);
    expect(await digest(`node "${BIN}" logs "${arn}" | (sleep 1; sha256sum); node "${BIN}" logs "${arn}" | wc -l`)).toBe(own);
  }, 120_000);

  it('goes unused with CRML_DAEMON=0, and where its folder is open to other users', async () => {
    const own = await crml(['--log-level', 'debug', 'train', '--name', 'own-process', '--image', IMAGE, '--entrypoint', '/bin/true', '--channel', `train=${join(work, 'project', 'empty')}`], { ...env('e'), CRML_DAEMON: '0' });
    expect(own.code).toBe(0);
    expect([...logPids(own.stderr)]).toEqual([own.pid]);

    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    expect((await status({ ...env('e'), CRML_DAEMON_DIR: open })).socket).toBeNull();
    const unsafe = await crml(['--log-level', 'debug', 'train', '--name', 'open-folder', '--image', IMAGE, '--entrypoint', '/bin/true', '--channel', `train=${join(work, 'project', 'empty')}`], { ...env('e'), CRML_DAEMON_DIR: open });
    expect(unsafe.code).toBe(0);
    expect([...logPids(unsafe.stderr)]).toEqual([unsafe.pid]);
  }, 120_000);
});
