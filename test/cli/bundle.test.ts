import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { daemonDir } from '../helpers/daemon-dir.js';

const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);

/** The bundled CLI that `bin` names (built here as `npm run build` builds it), run as `npx crml` runs it. */
describe('the bundled CLI (dist/bin/crml.cjs)', () => {
  const bin = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin.crml as string;

  // Commands after the first go to a resident worker (test/cli/daemon.test.ts): this file's, stopped at its end.
  const daemons = daemonDir();
  const savedDir = process.env.CRML_DAEMON_DIR;
  beforeAll(async () => {
    process.env.CRML_DAEMON_DIR = daemons.dir;
    await run('node', ['scripts/bundle-cli.mjs'], { cwd: ROOT, timeout: 120_000 });
  }, 120_000);
  afterAll(async () => {
    if (savedDir === undefined) delete process.env.CRML_DAEMON_DIR;
    else process.env.CRML_DAEMON_DIR = savedDir;
    await daemons.stopAll();
  });

  it('is what package.json names as the crml command', () => {
    expect(bin).toBe('dist/bin/crml.cjs');
  });

  it('starts from the code cache the build wrote, replaces a cache V8 rejects, and never runs one made from other source', async () => {
    expect(readFileSync(join(ROOT, 'dist/bin/crml-main.v8cache')).length).toBeGreaterThan(100_000);
    // A copy of the built command, where node_modules still resolves (.work is the repository's scratch folder).
    mkdirSync(join(ROOT, '.work'), { recursive: true });
    const copy = mkdtempSync(join(ROOT, '.work', 'bundle-test-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'crml-bundle-'));
    const copied = join(copy, 'crml.cjs');
    const cache = join(copy, 'crml-main.v8cache');
    try {
      for (const f of ['crml.cjs', 'crml-daemon.cjs', 'crml-main.cjs', 'crml-main.v8cache']) copyFileSync(join(ROOT, 'dist/bin', f), join(copy, f));
      // A cache of another Node or another build, or a torn file: V8 checks it and compiles from source.
      writeFileSync(cache, Buffer.from('not a V8 code cache'));
      const { stdout } = await run('node', [copied, 'list-trained-models'], { cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dataDir }, timeout: 60_000 });
      expect(JSON.parse(stdout)).toEqual({ trainedModels: [] });
      expect(readFileSync(cache).length).toBeGreaterThan(100_000);
      // V8 checks only a source's length: a cache of another bundle of the same length must not be run.
      const main = join(copy, 'crml-main.cjs');
      const original = readFileSync(main, 'utf8');
      const marker = 'cleanrooms-ml-local: AWS Clean Rooms ML';
      expect(original).toContain(marker);
      writeFileSync(main, original.replace(marker, marker.toUpperCase()));
      const help = await run('node', [copied, '--help'], { cwd: ROOT, timeout: 60_000 });
      expect(help.stdout).toContain(marker.toUpperCase());
    } finally {
      rmSync(copy, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers --help with the grouped commands', async () => {
    const { stdout } = await run('node', [bin, '--help'], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(/^Usage: crml/);
    expect(stdout).toContain('list-trained-models');
    expect(stdout).toContain('serve');
  });

  it('runs a real API command against its data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crml-bundle-'));
    try {
      const { stdout } = await run('node', [bin, 'list-trained-models'], {
        cwd: ROOT,
        env: { ...process.env, CRML_DATA_DIR: dataDir },
        timeout: 60_000,
      });
      expect(JSON.parse(stdout)).toEqual({ trainedModels: [] });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('trains a no-op job on the engine through the dockerode it bundles, leaving no container', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crml-bundle-'));
    const empty = mkdtempSync(join(tmpdir(), 'crml-bundle-empty-'));
    try {
      const { stdout } = await run('node', [bin, 'train', '--image', 'crml-examples/probe:latest', '--entrypoint', '/bin/true', '--channel', `train=${empty}`], {
        cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dataDir }, timeout: 120_000,
      });
      expect(stdout).toMatch(/^status ACTIVE$/m);
      const arn = /^trained-model (\S+)/m.exec(stdout)![1]!;
      const { stdout: left } = await run('docker', ['ps', '-aq', '--filter', `label=crml.trained-model=${arn}`]);
      expect(left.trim()).toBe('');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  }, 120_000);

  it('still dials an ssh:// engine through ssh2, which the bundle leaves in node_modules until then', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crml-bundle-'));
    const empty = mkdtempSync(join(tmpdir(), 'crml-bundle-empty-'));
    try {
      // Nothing listens on port 1: ssh2's own connection error shows that it was loaded and dialled.
      const err = await run('node', [bin, 'train', '--image', 'crml-examples/probe:latest', '--entrypoint', '/bin/true', '--channel', `train=${empty}`], {
        cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dataDir, DOCKER_HOST: 'ssh://nobody@127.0.0.1:1' }, timeout: 60_000,
      }).catch((e: { code: number; stdout: string }) => e);
      expect((err as { code: number }).code).toBe(1);
      expect((err as { stdout: string }).stdout).toMatch(/^status CREATE_FAILED$/m);
      expect((err as { stdout: string }).stdout).toContain('DOCKER_HOST (ssh://nobody@127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60_000);

  it('names a bad command as the source CLI does, with its exit code', async () => {
    const err = await run('node', [bin, 'get-trained-model', '--trained-model-arn', 'nope'], {
      cwd: ROOT,
      env: { ...process.env, CRML_DATA_DIR: mkdtempSync(join(tmpdir(), 'crml-bundle-')) },
      timeout: 60_000,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(254);
    expect((err as { stderr: string }).stderr).toMatch(/\(ValidationException\) when calling the GetTrainedModel operation/);
  });
});
