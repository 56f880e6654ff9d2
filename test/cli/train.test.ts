import { afterAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTag } from '../../src/api/train.js';
import { tempDataFolder } from '../helpers/fixtures.js';
import { pushImage, removeImage, startRegistry } from '../helpers/registry.js';

/** `crml train` as a user runs it: the real CLI in its own process, on a data folder of its own. */
const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'src/cli/bin.ts');
const dataDirs: string[] = [];
const builtTags: string[] = [];
const started: ChildProcess[] = [];

afterAll(async () => {
  // A test that failed half-way leaves its crml running: end it (Ctrl-C, so it cancels its run) before its folders go.
  for (const child of started.filter((c) => c.exitCode === null && c.signalCode === null)) {
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGINT');
    await Promise.race([closed, sleep(30_000)]);
  }
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  // Only the images these tests built (a tag only: the layers may be shared with the example images).
  for (const tag of builtTags) {
    try {
      execFileSync('docker', ['image', 'rm', tag], { stdio: 'ignore' });
    } catch {
      // Not built (the test failed before), or still used by a container being removed.
    }
  }
}, 60_000);

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'crml-cli-train-'));
  dataDirs.push(d);
  return d;
}

/** One node process (no npx in between), so that a signal reaches crml itself. */
function start(args: string[], dir = dataDir()) {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'train', ...args], {
    cwd: ROOT,
    env: { ...process.env, CRML_DATA_DIR: dir, CRML_STOP_GRACE_PERIOD_SECONDS: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    dir,
    exited,
    out: () => stdout,
    err: () => stderr,
    async waitFor(re: RegExp, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in:\n${stdout}\n${stderr}`);
        await sleep(100);
      }
    },
  };
}

async function crml(args: string[]) {
  const run = start(args);
  const code = await run.exited;
  return { code, stdout: run.out(), stderr: run.err(), dir: run.dir };
}

const lines = (text: string) => text.split('\n');
const containersWith = (label: string) => execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' }).trim();
const networksWith = (label: string) => execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=${label}`], { encoding: 'utf8' }).trim();

/** A build folder FROM scratch on the host's static busybox whose training prints `version N` and sleeps. */
function busyboxFolder(version: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'crml-watch-'));
  dataDirs.push(dir);
  copyFileSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCOPY train.sh /train.sh\nENTRYPOINT ["/bin/sh", "/train.sh"]\n',
  );
  writeTrainScript(dir, version);
  return dir;
}

function writeTrainScript(dir: string, version: number): void {
  // The shell is PID 1, which has no default SIGTERM action: it traps it, so a cancel stops it at once.
  writeFileSync(join(dir, 'train.sh'), `echo "version ${version}"\ntrap 'exit 143' TERM\nsleep 60 &\nwait\n`);
}

describe('crml train', () => {
  it('prints plain, parseable lines without a terminal and ends with a summary, exit 0 when ACTIVE', async () => {
    const r = await crml([
      '--image', 'crml-examples/probe:latest',
      '--channel', `train=${tempDataFolder()}`,
      '--hyperparameters', 'print_lines=2',
      '--metric', 'n=line ([0-9]+)',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\u001b');
    const out = lines(r.stdout);
    expect(out).toContain('status CREATE_IN_PROGRESS');
    expect(out).toContain('log algo-1 stdout line 1');
    expect(out).toContain('metric n=2 host=algo-1');
    const summary = out.slice(out.indexOf('summary'));
    expect(summary).toContain('status ACTIVE');
    expect(summary).toContain('metric n=2 host=algo-1');
    expect(summary.find((l) => l.startsWith('image-digest '))).toMatch(/^image-digest sha256:[0-9a-f]{64}$/);
    expect(summary.find((l) => l.startsWith('duration '))).toMatch(/^duration \d+\.\ds$/);
    expect(summary.filter((l) => l.startsWith('artifact ')).map((l) => l.split('/').pop())).toEqual(['model.tar.gz', 'output.tar.gz', 'manifest.json']);
  }, 120_000);

  it('exits 1 when the model fails, with its status code and message in the summary', async () => {
    const r = await crml(['--image', 'crml-examples/probe:latest', '--channel', `train=${tempDataFolder()}`, '--hyperparameters', '{"exit_code": 3, "failure_text": "bad data"}']);
    expect(r.code).toBe(1);
    const summary = lines(r.stdout).slice(lines(r.stdout).indexOf('summary'));
    expect(summary).toContain('status CREATE_FAILED');
    expect(summary).toContain('status-code ALGORITHM_ERROR');
    expect(summary.find((l) => l.startsWith('message '))).toContain('bad data');
  }, 120_000);

  it('draws a live status line and the summary in a pseudo-terminal, exit 0', async () => {
    const dir = dataDir();
    const command = `${process.execPath} --import tsx ${BIN} train --image crml-examples/probe:latest --channel train=${tempDataFolder()} --hyperparameters print_lines=2,sleep_seconds=1.5`;
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dir, COLUMNS: '120' }, timeout: 120_000 }, (e, stdout) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, output: stdout }),
      );
    });
    expect(code, output).toBe(0);
    // The status line, redrawn in place (cleared with ESC[2K), with the phase and the elapsed time.
    const ESC = String.fromCharCode(27);
    expect(output).toMatch(new RegExp(`${ESC}\\[2K\\S+ CREATE_IN_PROGRESS {2}\\d+\\.\\ds`));
    expect(output).toContain('line 2');
    expect(output).toMatch(/Summary[\s\S]*status[^\n]*ACTIVE/);
  }, 120_000);

  it("shows an image pull's progress per layer: plain lines without a terminal, redrawn in a pseudo-terminal", async () => {
    await using registry = await startRegistry();
    const image = `${registry.host}/crml-train-test/probe:v1`;
    // A layer of its own on top of the probe's, so that a pull has something to download.
    const local = `crml-train-test/pull-${randomBytes(4).toString('hex')}:latest`;
    execFileSync('docker', ['build', '-q', '-t', local, '-'], {
      input: `FROM crml-examples/probe:latest\nRUN echo ${randomBytes(8).toString('hex')} > /marker\n`,
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    // The engine wants an X-Registry-Auth header on a push; this registry asks for none and ignores it.
    await pushImage(local, registry.host, 'crml-train-test/probe:v1', { username: 'crml', password: 'unused' });
    await removeImage(local);
    try {
      const r = await crml(['--image', image, '--channel', `train=${tempDataFolder()}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, r.stdout).toMatch(/^pull [0-9a-f]{12}: Pull complete$/m);
      expect(r.stdout.indexOf('pull ')).toBeLessThan(r.stdout.indexOf('status CREATE_IN_PROGRESS'));
      await removeImage(image);
      const dir = dataDir();
      const command = `${process.execPath} --import tsx ${BIN} train --image ${image} --channel train=${tempDataFolder()}`;
      const output = await new Promise<string>((resolve, reject) =>
        execFile('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dir }, timeout: 120_000 }, (e, stdout) =>
          e ? reject(e) : resolve(stdout),
        ),
      );
      expect(output).toMatch(/[0-9a-f]{12}: Pull complete/);
      expect(output).toMatch(/Summary[\s\S]*status[^\n]*ACTIVE/);
    } finally {
      await removeImage(image);
    }
  }, 120_000);

  it('builds examples/algorithms/linear-regression offline and trains it on its data, ending ACTIVE with its metric', async () => {
    const example = join(ROOT, 'examples/algorithms/linear-regression');
    builtTags.push(buildTag(example));
    const r = await crml([
      '--build', example,
      '--channel', `train=${join(example, 'data/train')}`,
      '--channel', `validation=${join(example, 'data/validation/validation.csv')}`,
      '--hyperparameters', 'epochs=5',
      '--metric', 'train_loss=train_loss=([0-9.]+)',
      '--metric', 'validation_loss=validation_loss=([0-9.]+)',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^build Successfully tagged crml-build\/linear-regression-[0-9a-f]{8}:latest$/m);
    const summary = lines(r.stdout).slice(lines(r.stdout).indexOf('summary'));
    expect(summary).toContain('status ACTIVE');
    expect(summary.some((l) => /^metric train_loss=[0-9.]+ host=algo-1$/.test(l))).toBe(true);
    expect(summary.some((l) => /^metric validation_loss=[0-9.]+ host=algo-1$/.test(l))).toBe(true);
  }, 300_000);

  it('Ctrl-C during training cancels it: INACTIVE, exit 130, no container or network left', async () => {
    const session = randomBytes(6).toString('hex');
    const job = join(dataDir(), 'job.yaml');
    writeFileSync(
      job,
      `image: crml-examples/probe:latest\nchannels:\n  train: ${tempDataFolder()}\ninstanceCount: 2\nhyperparameters:\n  sleep_seconds: 60\nlabels:\n  test.session: ${session}\n`,
    );
    const run = start(['-f', job]);
    await run.waitFor(/^status CREATE_IN_PROGRESS$/m);
    expect(containersWith(`test.session=${session}`).split('\n')).toHaveLength(2);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(lines(run.out())).toContain('status INACTIVE');
    expect(containersWith(`test.session=${session}`)).toBe('');
    expect(networksWith(`test.session=${session}`)).toBe('');
    const arn = /^trained-model (\S+)/m.exec(run.out())![1]!;
    const get = await crmlApi(run.dir, ['get-trained-model', '--trained-model-arn', arn, '--membership-identifier', '00000000-0000-4000-8000-000000000001']);
    expect(JSON.parse(get).status).toBe('INACTIVE');
  }, 120_000);

  it("exits 254 with the API's message for a bad hyperparameter value", async () => {
    const r = await crml(['--image', 'crml-examples/probe:latest', '--channel', `train=${tempDataFolder()}`, '--hyperparameters', `lr=${'9'.repeat(2501)}`]);
    expect(r.code).toBe(254);
    expect(r.stderr).toMatch(
      /An error occurred \(ValidationException\) when calling the train operation: 1 validation error detected: Value '\{lr=9+\}' at 'hyperparameters' failed to satisfy constraint: Map value must satisfy constraint: \[Member must have length less than or equal to 2500/,
    );
  }, 60_000);

  it('reads a job file (-f, YAML) whose fields the flags override, and names the field a bad file gets wrong', async () => {
    const dir = dataDir();
    const job = join(dir, 'job.yaml');
    writeFileSync(join(dir, 'rows.csv'), '1,2\n');
    writeFileSync(job, 'name: from-file\nimage: crml-examples/probe:latest\nchannels:\n  train: rows.csv\nhyperparameters:\n  print_text: from-file\n  print_lines: 1\n');
    const r = await crml(['-f', job, '--name', 'from-flag', '--hyperparameters', 'print_lines=2']);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out).toContain('name from-flag');
    expect(out).toContain('log algo-1 stdout from-file');
    expect(out).toContain('log algo-1 stdout line 2');

    writeFileSync(job, 'image: crml-examples/probe:latest\nchannels: {train: rows.csv}\ninstanceCount: two\nepochs: 3\n');
    const bad = await crml(['-f', job]);
    expect(bad.code).toBe(252);
    expect(bad.stderr).toContain(`crml: -f ${job}: `);
    expect(bad.stderr).toMatch(/instanceCount: .*number/);
    expect(bad.stderr).toContain('epochs: not a field of a job file');
  }, 120_000);

  it('--watch re-builds and re-trains when the folder changes, cancelling the run going on; Ctrl-C ends it', async () => {
    const folder = busyboxFolder(1);
    const tag = buildTag(folder);
    builtTags.push(tag);
    const run = start(['--build', folder, '--watch', '--channel', `train=${tempDataFolder()}`]);
    await run.waitFor(/^log algo-1 stdout version 1$/m, 90_000);
    writeTrainScript(folder, 2);
    await run.waitFor(/^log algo-1 stdout version 2$/m, 90_000);
    const out = run.out();
    // The first run was cancelled before the second started.
    expect(out.indexOf('status INACTIVE')).toBeGreaterThan(-1);
    expect(out.indexOf('status INACTIVE')).toBeLessThan(out.indexOf('version 2'));
    expect(out).toMatch(/^note .* changed: cancelling the run to re-build$/m);
    const arns = [...out.matchAll(/^trained-model (\S+) name=/gm)].map((m) => m[1]!);
    expect(arns, out).toHaveLength(2);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    for (const arn of arns) expect(containersWith(`crml.trained-model=${arn}`)).toBe('');
  }, 240_000);
});

/** An API command on the same data folder. */
async function crmlApi(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dir } }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
  );
}
