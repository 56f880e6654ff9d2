import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import { EngineError, type ContainerEngine } from '../../src/runner/container-engine.js';
import { LABEL_TRAINED_MODEL } from '../../src/runner/container-config.js';
import type { LogLine, RunResult, TrainingJobSpec } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';
import { pushImage, startRegistry } from '../helpers/registry.js';
import { probeJobSpec } from '../helpers/job-spec.js';

/** Not crml.test=1: the runner tests' afterEach removes every container with that label, also of a test running beside them. */
const TEST_LABELS = { 'crml.test.runner-safety': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const work = mkdtempSync(join(tmpdir(), 'crml-faults-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const arnOf = (n: string) => `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcd${n}`;
/** This run's containers still on the engine (none once it ended). */
const containersOf = (arn: string) => execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABEL_TRAINED_MODEL}=${arn}`], { encoding: 'utf8' }).trim();

async function run(n: string, over: Partial<TrainingJobSpec>, e: ContainerEngine = engine): Promise<{ result: RunResult; lines: LogLine[]; artifactsDir: string }> {
  const artifactsDir = over.artifactsDir ?? join(work, n);
  mkdirSync(artifactsDir, { recursive: true });
  const runner = new DockerTrainingRunner({ engine: e, logger: pino({ level: 'silent' }), settings: defaultSettings({ dataDir: work }) });
  const lines: LogLine[] = [];
  const spec = probeJobSpec({ trainedModelArn: arnOf(n), name: `faults-${n}`, labels: TEST_LABELS, ...over, artifactsDir });
  const result = await runner.run(spec, { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined }, new AbortController().signal);
  return { result, lines, artifactsDir };
}

describe('faults end in a precise status and message, and leave nothing behind', () => {
  it('the registry down during a pull: IMAGE_PULL_FAILED in the engine\'s words', async () => {
    const registry = await startRegistry();
    let reference: string;
    try {
      // The engine wants an auth header on a push; a registry without htpasswd takes any.
      await pushImage('crml-examples/probe:latest', registry.host, 'faults/probe:v1', { username: 'anyone', password: 'any' });
      reference = `${registry.host}/faults/probe:v1`;
    } finally {
      await registry.stop();
    }
    const { result } = await run('61', { imageUri: reference });
    expect(result.statusCode).toBe('IMAGE_PULL_FAILED');
    expect(result.message).toMatch(new RegExp(`^Could not pull ${reference.replace(/[.]/g, '\\.')}: .*connection refused`));
    expect(containersOf(arnOf('61'))).toBe('');
  }, 120_000);

  it('the disk full while packaging: INTERNAL_ERROR naming the file and "no space left"; no partial model.tar.gz', async () => {
    const artifactsDir = join(work, 'tiny');
    mkdirSync(artifactsDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'crml-faults-tiny', artifactsDir]);
    try {
      // 3 MiB of random bytes: they do not compress, so model.tar.gz cannot fit in 1 MiB.
      const { result, lines } = await run('62', { artifactsDir, hyperparameters: { write_mb: '3', print_lines: '3' } });
      expect(result.statusCode).toBe('INTERNAL_ERROR');
      expect(result.message).toMatch(new RegExp(`^cleanrooms-ml-local could not write ${join(artifactsDir, 'model.tar.gz')}: .*no space left on device`));
      expect(readdirSync(artifactsDir).filter((f) => f.startsWith('model.tar.gz'))).toEqual([]);
      // What the job said is all there.
      expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3']);
      expect(containersOf(arnOf('62'))).toBe('');
    } finally {
      execFileSync('umount', [artifactsDir]);
    }
  }, 120_000);

  it('the engine lost for good mid-run: INTERNAL_ERROR naming the engine and what failed; containers removed once it answers', async () => {
    const lost = new EngineError('connect ECONNREFUSED /var/run/docker.sock', undefined, { operation: 'wait container' });
    const broken = new Proxy(engine, {
      get: (target, prop, receiver) =>
        prop === 'waitContainer' ? () => Promise.reject(lost) : (Reflect.get(target, prop, receiver) as unknown),
    });
    const { result } = await run('63', { hyperparameters: { sleep_seconds: '60' } }, broken);
    expect(result.statusCode).toBe('INTERNAL_ERROR');
    expect(result.message).toBe('The container engine at unix:///var/run/docker.sock failed during the run (wait container): connect ECONNREFUSED /var/run/docker.sock');
    expect(containersOf(arnOf('63'))).toBe('');
  }, 120_000);

  it('the connection lost once while the container still runs: the run waits again and ends as the container did', async () => {
    let failures = 0;
    const flaky = new Proxy(engine, {
      get: (target, prop, receiver) =>
        prop === 'waitContainer'
          ? (id: string) =>
              failures++ === 0 ? Promise.reject(new EngineError('socket hang up', undefined, { operation: 'wait container' })) : target.waitContainer(id)
          : (Reflect.get(target, prop, receiver) as unknown),
    });
    const { result } = await run('64', { hyperparameters: { sleep_seconds: '3', exit_code: '0' } }, flaky);
    expect(failures).toBe(2);
    expect(result.succeeded, result.message).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(containersOf(arnOf('64'))).toBe('');
  }, 120_000);
});
