import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import type { ContainerEngine } from '../../src/runner/container-engine.js';
import { isSkeletonOf, skeletonTag } from '../../src/runner/skeleton-images.js';
import type { LogLine } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';
import { probeJobSpec } from '../helpers/job-spec.js';

const TEST_LABELS = { 'crml.test.skeleton-images': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcd77';
const work = mkdtempSync(join(tmpdir(), 'crml-skeleton-images-'));
const tag = randomBytes(4).toString('hex');
/** Runs as a user that is not root: the skeleton's writable folders must stay writable for it. */
const NON_ROOT = `crml-test/skeleton-non-root:${tag}`;
const WITH_VOLUME = `crml-test/skeleton-volume:${tag}`;
const REBUILT = `crml-test/skeleton-rebuilt:${tag}`;
const made: string[] = [];

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }).trim();
const build = (name: string, dockerfile: string) => {
  execFileSync('docker', ['build', '-q', '-t', name, '-'], { input: `FROM crml-examples/probe:latest\n${dockerfile}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  return docker('image', 'inspect', '-f', '{{.Id}}', name);
};
const imageExists = (ref: string) => {
  try {
    docker('image', 'inspect', ref);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  made.push(build(NON_ROOT, 'USER 1000'), build(WITH_VOLUME, 'VOLUME /opt/ml/model'));
});
afterAll(() => {
  // Skeleton images first: an image with a child cannot be removed by id.
  for (const id of made) if (imageExists(skeletonTag(id))) docker('rmi', skeletonTag(id));
  for (const ref of [NON_ROOT, WITH_VOLUME, REBUILT]) if (imageExists(ref)) docker('rmi', ref);
  rmSync(work, { recursive: true, force: true });
});

/** What the job sees of /opt/ml, one fact a line, and whether its config folder is a bind mount (the skeleton path). */
const LOOK = [
  'stat -c "%a %n" /opt/ml/model /opt/ml/output /opt/ml/output/data /opt/ml/checkpoints /opt/ml/input/config/hyperparameters.json',
  'cat /opt/ml/input/config/hyperparameters.json; echo',
  '(touch /opt/ml/input/config/extra 2>/dev/null && echo config writable) || echo config read-only',
  'echo weights > /opt/ml/model/weights.txt && echo model written',
  'echo "mounted $(grep -c " /opt/ml/input/config " /proc/self/mountinfo)"',
].join('; ');

let n = 0;
async function run(runner: DockerTrainingRunner, imageUri: string): Promise<{ seen: string[]; mounted: boolean; model: string[]; artifactsDir: string }> {
  const artifactsDir = join(work, `artifacts-${(n += 1)}`);
  mkdirSync(artifactsDir);
  const lines: LogLine[] = [];
  const spec = probeJobSpec({
    trainedModelArn: ARN, name: 'skeleton-test', artifactsDir, labels: TEST_LABELS, imageUri,
    hyperparameters: { epochs: '3' }, entrypoint: ['/bin/sh', '-c', LOOK],
  });
  const result = await runner.run(spec, { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined }, new AbortController().signal);
  const text = lines.map((l) => l.text);
  expect(result.statusCode, text.join('\n')).toBeUndefined();
  const model = execFileSync('tar', ['tzf', join(artifactsDir, 'model.tar.gz')], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const mounted = text.find((t) => t.startsWith('mounted '));
  return { seen: text.filter((t) => !t.startsWith('mounted ')), mounted: mounted === 'mounted 1', model, artifactsDir };
}

const newRunner = (engineOverride: ContainerEngine = engine, skeletonImages = true) =>
  new DockerTrainingRunner({ engine: engineOverride, logger: pino({ level: 'silent' }), settings: defaultSettings({ dataDir: work, skeletonImages }) });

describe('skeleton images (the second run of an image needs no archive call before it starts)', () => {
  it('the first run lays out /opt/ml itself and makes one; the next starts from it and sees the same /opt/ml', async () => {
    const runner = newRunner();
    const first = await run(runner, NON_ROOT);
    expect(first.mounted).toBe(false);
    await runner.settled();
    const baseId = made[0]!;
    const [base, skeleton] = await Promise.all([engine.inspectImage(baseId), engine.inspectImage(skeletonTag(baseId))]);
    expect(skeleton && base && isSkeletonOf(skeleton, base)).toBe(true);

    const second = await run(runner, NON_ROOT);
    expect(second.mounted).toBe(true);
    expect(second.seen).toEqual(first.seen);
    expect(first.seen).toEqual([
      '777 /opt/ml/model', '777 /opt/ml/output', '777 /opt/ml/output/data', '777 /opt/ml/checkpoints',
      '444 /opt/ml/input/config/hyperparameters.json',
      '{"epochs":"3"}',
      'config read-only',
      'model written',
    ]);
    expect(second.model).toEqual(['weights.txt']);
    // The config files' folder on this machine goes with the run.
    expect(existsSync(join(second.artifactsDir, '.config'))).toBe(false);
    expect(docker('ps', '-aq', '--filter', 'label=crml.skeleton-builder=true')).toBe('');
  });

  it('is checked before use: labels that say so are not enough, the layers must be the image’s plus one', async () => {
    const base = (await engine.inspectImage(made[0]!))!;
    const skeleton = (await engine.inspectImage(skeletonTag(made[0]!)))!;
    expect(isSkeletonOf(skeleton, base)).toBe(true);
    expect(isSkeletonOf({ ...skeleton, layers: [...skeleton.layers!.slice(0, -2), 'sha256:other', skeleton.layers!.at(-1)!] }, base)).toBe(false);
    expect(isSkeletonOf({ ...skeleton, layers: [...skeleton.layers!, 'sha256:more'] }, base)).toBe(false);
    expect(isSkeletonOf({ ...skeleton, labels: { ...skeleton.labels, 'crml.skeleton-version': '0' } }, base)).toBe(false);
    expect(isSkeletonOf(skeleton, { ...base, id: 'sha256:another' })).toBe(false);
  });

  it('one that went between finding and using it: the run lays out /opt/ml itself', async () => {
    const skeletonId = docker('image', 'inspect', '-f', '{{.Id}}', skeletonTag(made[0]!));
    let removed = false;
    // The engine as it is, except that the skeleton image is removed just before the container is created from it.
    const racing = new Proxy(engine, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop !== 'createContainer' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (spec: { image: string }) => {
          if (spec.image === skeletonId && !removed) {
            docker('rmi', skeletonTag(made[0]!));
            removed = true;
          }
          return (value as (s: unknown) => Promise<string>).call(target, spec);
        };
      },
    });
    const runner = newRunner(racing);
    const r = await run(runner, NON_ROOT);
    expect(removed).toBe(true);
    expect(r.mounted).toBe(false);
    expect(r.model).toEqual(['weights.txt']);
    // The next run finds none, lays out /opt/ml itself and makes it again for the runs after.
    expect((await run(runner, NON_ROOT)).mounted).toBe(false);
    await runner.settled();
    expect(imageExists(skeletonTag(made[0]!))).toBe(true);
  });

  it('an image rebuilt under the same tag: its old skeleton image goes when the new one is made, the old image with it', async () => {
    const runner = newRunner();
    const old = build(REBUILT, 'LABEL build=1');
    made.push(old);
    await run(runner, REBUILT);
    await runner.settled();
    expect(imageExists(skeletonTag(old))).toBe(true);

    const rebuilt = build(REBUILT, 'LABEL build=2');
    made.push(rebuilt);
    await run(runner, REBUILT);
    await runner.settled();
    expect(imageExists(skeletonTag(rebuilt))).toBe(true);
    expect(imageExists(skeletonTag(old))).toBe(false);
    // The old build had no tag left: it went with its skeleton image, as a `docker rmi` of the child takes it.
    expect(imageExists(old)).toBe(false);
  });

  it('none for an image that declares a volume in /opt/ml, nor with skeletonImages off', async () => {
    const withVolume = newRunner();
    await run(withVolume, WITH_VOLUME);
    await withVolume.settled();
    expect(imageExists(skeletonTag(made[1]!))).toBe(false);

    const off = newRunner(engine, false);
    const probeId = docker('image', 'inspect', '-f', '{{.Id}}', 'crml-examples/probe:latest');
    const hadOne = imageExists(skeletonTag(probeId));
    await run(off, 'crml-examples/probe:latest');
    await off.settled();
    expect(imageExists(skeletonTag(probeId))).toBe(hadOne);
  });
});
