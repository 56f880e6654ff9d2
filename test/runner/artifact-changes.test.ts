import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import { emptyFolders } from '../../src/runner/artifact-packager.js';
import { removeImage } from '../helpers/registry.js';
import type { LogLine } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';
import { probeJobSpec } from '../helpers/job-spec.js';

const TEST_LABELS = { 'crml.test.artifact-changes': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcd54';
const work = mkdtempSync(join(tmpdir(), 'crml-artifact-changes-'));
/** An image of our own whose /opt/ml/model already holds a file: a folder the container did not add. */
const SHIPPED_IMAGE = `crml-test/model-in-image:${randomBytes(4).toString('hex')}`;

beforeAll(() => {
  const id = execFileSync('docker', ['create', '--label', 'crml.test.artifact-changes=1', '--entrypoint', '/bin/sh', 'crml-examples/probe:latest', '-c', 'mkdir -p /opt/ml/model && echo weights > /opt/ml/model/shipped.txt'], { encoding: 'utf8' }).trim();
  execFileSync('docker', ['start', '-a', id]);
  execFileSync('docker', ['commit', id, SHIPPED_IMAGE], { stdio: 'ignore' });
  execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
});
afterAll(async () => {
  await runner.settled();
  // With its skeleton image, which the runs made.
  await removeImage(SHIPPED_IMAGE);
  rmSync(work, { recursive: true, force: true });
});

/** The engine, counting what the runner asks of it: how a folder's emptiness was learnt. */
const calls = { changes: 0, getArchive: 0, pathModified: 0 };
const counted = new Proxy(engine, {
  get(target, key, receiver) {
    const value = Reflect.get(target, key, receiver) as unknown;
    if (typeof value !== 'function') return value;
    return (...args: unknown[]) => {
      if (typeof key === 'string' && key in calls) calls[key as keyof typeof calls] += 1;
      return (value as (...a: unknown[]) => unknown).apply(target, args);
    };
  },
});

let n = 0;
const runner = new DockerTrainingRunner({ engine: counted, logger: pino({ level: 'silent' }), settings: defaultSettings({ dataDir: work }) });
async function run(over: { imageUri?: string; script: string }): Promise<{ model: string[]; output: string[] }> {
  const artifactsDir = join(work, `artifacts-${(n += 1)}`);
  mkdirSync(artifactsDir);
  const lines: LogLine[] = [];
  const spec = probeJobSpec({
    trainedModelArn: ARN, name: 'changes-test', artifactsDir, labels: TEST_LABELS,
    imageUri: over.imageUri ?? 'crml-examples/probe:latest', entrypoint: ['/bin/sh', '-c', over.script],
  });
  const result = await runner.run(spec, { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined }, new AbortController().signal);
  expect(result.statusCode, lines.map((l) => l.text).join('\n')).toBeUndefined();
  const list = (f: string) => execFileSync('tar', ['tzf', join(artifactsDir, f)], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  return { model: list('model.tar.gz'), output: list('output.tar.gz') };
}

describe('artifacts of folders the container left empty (not read back from the engine)', () => {
  it('a folder counts as empty only when the container added it and wrote nothing under it', () => {
    const changes = [
      { path: '/opt/ml/model', kind: 'added' as const },
      { path: '/opt/ml/output', kind: 'added' as const },
      { path: '/opt/ml/output/data', kind: 'added' as const },
      { path: '/opt/ml/output/data/x', kind: 'added' as const },
      { path: '/opt/ml/checkpoints', kind: 'modified' as const },
    ];
    expect([...emptyFolders(changes, ['/opt/ml/model', '/opt/ml/output/data', '/opt/ml/checkpoints', '/opt/ml/code'])]).toEqual(['/opt/ml/model']);
  });

  it('a folder empty in a skeleton image counts as empty only when nothing at or under it changed', () => {
    const inImage = ['/opt/ml/model', '/opt/ml/output/data'];
    expect([...emptyFolders([], inImage, inImage)]).toEqual(inImage);
    expect([...emptyFolders([{ path: '/opt/ml/model', kind: 'modified' }], inImage, inImage)]).toEqual(['/opt/ml/output/data']);
    expect([...emptyFolders([{ path: '/opt/ml/output/data/x', kind: 'added' }], inImage, inImage)]).toEqual(['/opt/ml/model']);
    // Not named empty in the image (the training image had content there): read back.
    expect([...emptyFolders([], inImage, [])]).toEqual([]);
  });

  it('a job that writes nothing gets an empty model.tar.gz and output.tar.gz, valid archives both', async () => {
    expect(await run({ script: 'true' })).toEqual({ model: [], output: [] });
  });

  it('a job that writes only output/data gets it, and an empty model', async () => {
    expect(await run({ script: 'echo done > /opt/ml/output/data/report.txt' })).toEqual({ model: [], output: ['report.txt'] });
  });

  describe('from a skeleton image (its folders\' times known): their times say whether a job touched them', () => {
    beforeAll(async () => {
      // The first run of an image makes its skeleton image in the background; the runs below start from it.
      await run({ script: 'true' });
      await runner.settled();
    });
    const counting = async (script: string) => {
      for (const k of Object.keys(calls)) calls[k as keyof typeof calls] = 0;
      const packaged = await run({ script });
      return { ...packaged, calls: { ...calls } };
    };

    it('a job that writes nothing: both empty, learnt from two stats (no changes, no archive read)', async () => {
      expect(await counting('true')).toEqual({ model: [], output: [], calls: { changes: 0, getArchive: 0, pathModified: 2 } });
    });

    it('an empty file, an empty folder, a file added then removed: each read back, and packaged as the job left it', async () => {
      const emptyFile = await counting(': > /opt/ml/model/weights.bin');
      expect(emptyFile).toMatchObject({ model: ['weights.bin'], output: [], calls: { changes: 0, getArchive: 1 } });
      expect(await counting('mkdir /opt/ml/model/sub')).toMatchObject({ model: ['sub/'], output: [] });
      expect(await counting('touch /opt/ml/output/data/x && rm /opt/ml/output/data/x')).toMatchObject({ model: [], output: [], calls: { getArchive: 1 } });
      expect(await counting('echo done > /opt/ml/output/data/report.txt')).toMatchObject({ model: [], output: ['report.txt'] });
    });

    it('a folder replaced by another (renamed over it) is read back', async () => {
      const script = 'mkdir /tmp/m && echo w > /tmp/m/w.txt && rmdir /opt/ml/model && mv /tmp/m /opt/ml/model';
      expect(await counting(script)).toMatchObject({ model: ['w.txt'], output: [] });
    });
  });

  it("what the image itself has in /opt/ml/model is packaged, although the job wrote nothing", async () => {
    expect(await run({ imageUri: SHIPPED_IMAGE, script: 'true' })).toEqual({ model: ['shipped.txt'], output: [] });
  });
});
