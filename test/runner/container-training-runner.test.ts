import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import Docker from 'dockerode';
import { DockerodeEngine } from '../../src/runner/engine/dockerode-engine.js';
import { ContainerTrainingRunner } from '../../src/runner/container-training-runner.js';
import type { LogLine, MetricPoint, TrainingJobSpec } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';

const PROBE = 'crml-examples/probe:latest';
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const engine = new DockerodeEngine(docker, { endpoint: 'unix:///var/run/docker.sock', sharesHostFilesystem: true });

function tarList(file: string): string[] {
  return execFileSync('tar', ['-tvzf', file], { encoding: 'utf8' }).trim().split('\n');
}
function tarFile(file: string, member: string): string {
  return execFileSync('tar', ['-xzOf', file, member], { encoding: 'utf8' });
}

async function runProbe(
  hyperparameters: Record<string, string>,
  over: Partial<TrainingJobSpec> = {},
  opts: { graceMs?: number; signal?: AbortSignal; files?: Record<string, string> } = {},
) {
  const work = mkdtempSync(join(tmpdir(), 'crml-run-'));
  const data = join(work, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  for (const [n, c] of Object.entries(opts.files ?? { 'a.csv': '1,2\n', 'sub/b.csv': '3,4\n' })) writeFileSync(join(data, n), c);
  const artifactsDir = join(work, 'artifacts');
  mkdirSync(artifactsDir);
  const runner = new ContainerTrainingRunner({
    engine,
    settings: defaultSettings({ dataDir: work, stopGracePeriodMs: opts.graceMs ?? 2000 }),
    logger: pino({ level: 'silent' }),
  });
  const lines: LogLine[] = [];
  const metrics: MetricPoint[] = [];
  const started: string[] = [];
  const spec: TrainingJobSpec = {
    trainedModelArn: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/test',
    name: 'probe-test',
    membershipIdentifier: '00000000-0000-4000-8000-000000000001',
    imageUri: PROBE,
    metricDefinitions: [],
    hyperparameters,
    environment: {},
    instanceType: 'ml.m5.large',
    instanceCount: 1,
    volumeSizeInGB: 1,
    maxRuntimeInSeconds: 600,
    trainingInputMode: 'File',
    channels: [{ channelName: 'train', hostPath: data, contentType: 'text/csv', s3DataDistributionType: 'FullyReplicated' }],
    artifactsDir,
    ...over,
  };
  const result = await runner.run(
    spec,
    { onStarted: (i) => void started.push(i.imageDigest), onLogLine: (l) => void lines.push(l), onMetric: (m) => void metrics.push(m) },
    opts.signal ?? new AbortController().signal,
  );
  const left = await engine.listContainers(`crml.trained-model=${spec.trainedModelArn}`);
  return {
    result, lines, metrics, started, artifactsDir, left,
    [Symbol.dispose]: () => rmSync(work, { recursive: true, force: true }),
  };
}

describe('ContainerTrainingRunner with the probe image', () => {
  it('runs the contract: files, environment, hyperparameters, invocation, limits and hardening as seen from inside', async () => {
    using run = await runProbe({ epochs: '3', model_text: 'hello model' }, { environment: { MY_VAR: 'x', SM_NUM_GPUS: 'override' } });
    expect(run.result).toMatchObject({ succeeded: true, exitCode: 0 });
    expect(run.result.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.started).toEqual([run.result.imageDigest]);
    expect(run.left).toEqual([]);
    const model = join(run.artifactsDir, 'model.tar.gz');
    expect(tarFile(model, 'model.txt').trim()).toBe('hello model');
    const out = join(run.artifactsDir, 'output.tar.gz');
    expect(tarFile(out, 'argv.txt').trim().split('\n')).toEqual(['train']);
    const env = tarFile(out, 'env.txt');
    for (const line of [
      'SM_MODEL_DIR=/opt/ml/model', 'SM_OUTPUT_DATA_DIR=/opt/ml/output/data', 'SM_CHANNELS=["train"]',
      'SM_CHANNEL_TRAIN=/opt/ml/input/data/train', 'SM_HP_EPOCHS=3', 'SM_CURRENT_HOST=algo-1', 'SM_HOSTS=["algo-1"]',
      'SM_NUM_CPUS=2', 'SM_NUM_GPUS=override', 'TRAINING_JOB_NAME=probe-test', 'FILE_FORMAT=csv', 'MY_VAR=x',
    ]) expect(env).toContain(line);
    expect(JSON.parse(tarFile(out, 'config/hyperparameters.json'))).toEqual({ epochs: '3', model_text: 'hello model' });
    expect(JSON.parse(tarFile(out, 'config/inputdataconfig.json'))).toEqual({
      train: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated', RecordWrapperType: 'None' },
    });
    expect(JSON.parse(tarFile(out, 'config/resourceconfig.json'))).toMatchObject({
      current_host: 'algo-1', current_instance_type: 'ml.m5.large', hosts: ['algo-1'], network_interface_name: 'eth0',
    });
    const channels = tarFile(out, 'channels.txt');
    expect(channels).toContain('train/a.csv');
    expect(channels).toContain('train/sub/b.csv');
    const limits = tarFile(out, 'limits.txt');
    expect(limits).toMatch(/^cpus=2(\.00)?$/m);
    expect(limits).toMatch(new RegExp(`^memory_limit_bytes=${8 * 1024 ** 3}$`, 'm'));
    expect(tarFile(out, 'network.txt')).toMatch(/^interfaces=lo\s*$/m);
    expect(tarFile(out, 'capabilities.txt')).toMatch(/^CapEff:\s+0+$/m);
    expect(tarFile(out, 'capabilities.txt')).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(tarFile(out, 'writable.txt')).toMatch(/train=no/);
    const manifest = JSON.parse(readFileSync(join(run.artifactsDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ image: { uri: PROBE, digest: run.result.imageDigest }, exitCode: 0, limits: { vcpus: 2 } });
    expect(manifest.channels[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ends ALGORITHM_ERROR with the failure file as the message', async () => {
    using run = await runProbe({ exit_code: '3', failure_text: 'the data has no label column' });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'ALGORITHM_ERROR', exitCode: 3 });
    expect(run.result.message).toBe('the data has no label column');
    expect(run.left).toEqual([]);
  });

  it('without a failure file, reports the exit code and the last lines of stderr', async () => {
    using run = await runProbe({ exit_code: '7', print_stderr_lines: '12' });
    expect(run.result.statusCode).toBe('ALGORITHM_ERROR');
    expect(run.result.message).toContain('Algorithm exited with code 7.');
    expect(run.result.message).toContain('stderr line 12');
    expect(run.result.message).not.toContain('stderr line 2\n');
  });

  it('keeps every line in order and extracts every metric point', async () => {
    using run = await runProbe(
      { print_text: 'epoch=1 loss=0.5 acc=0.9\\nnoise\\nepoch=2 loss=0.25 acc=0.95\\nloss=nan', print_lines: '3' },
      { metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+)' }, { name: 'acc', regex: '(?P<acc>acc=)([0-9.]+)' }, { name: 'epoch', regex: 'epoch=\\d+' }] },
    );
    expect(run.lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual([
      'epoch=1 loss=0.5 acc=0.9', 'noise', 'epoch=2 loss=0.25 acc=0.95', 'loss=nan', 'line 1', 'line 2', 'line 3',
    ]);
    expect(run.metrics.filter((m) => m.name === 'loss').map((m) => m.value)).toEqual([0.5, 0.25]);
    expect(run.metrics.filter((m) => m.name === 'epoch')).toHaveLength(0); // "epoch=1" is not a number
    expect(run.lines.every((l) => l.host === 'algo-1')).toBe(true);
  });

  it('ends OUT_OF_MEMORY when the engine kills it for memory', async () => {
    using run = await runProbe({ allocate_mb: '1200' }, { instanceType: 'ml.t3.medium' }, {});
    // ml.t3.medium has 4 GiB; the probe stays under it, so this one must succeed …
    expect(run.result.succeeded).toBe(true);
    using big = await runProbe({ allocate_mb: '5000' }, { instanceType: 'ml.t3.medium' });
    // … and past it the engine kills it.
    expect(big.result).toMatchObject({ succeeded: false, statusCode: 'OUT_OF_MEMORY' });
    expect(big.left).toEqual([]);
  });

  it('stops at maxRuntimeInSeconds with MAX_RUNTIME_EXCEEDED and keeps the partial model', async () => {
    const t0 = Date.now();
    using run = await runProbe({ sleep_seconds: '60' }, { maxRuntimeInSeconds: 2 }, { graceMs: 3000 });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'MAX_RUNTIME_EXCEEDED', timedOut: true });
    expect(Date.now() - t0).toBeLessThan(2000 + 3000 + 5000);
    expect(tarList(join(run.artifactsDir, 'model.tar.gz')).join('\n')).toContain('partial.txt');
  });

  it('kills a container that ignores SIGTERM after the grace period', async () => {
    const t0 = Date.now();
    using run = await runProbe({ sleep_seconds: '60', ignore_sigterm: 'true' }, { maxRuntimeInSeconds: 1 }, { graceMs: 2000 });
    const took = Date.now() - t0;
    expect(run.result.statusCode).toBe('MAX_RUNTIME_EXCEEDED');
    expect(took).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThan(15000);
    expect(run.left).toEqual([]);
  });

  it('cancels through the abort signal and leaves no container', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1500);
    using run = await runProbe({ sleep_seconds: '60' }, {}, { signal: abort.signal, graceMs: 2000 });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'CANCELLED', cancelled: true });
    expect(run.left).toEqual([]);
  });

  it('archives a symlink in /opt/ml/model as a link, never what it points to', async () => {
    using run = await runProbe({ print_text: 'x' }, { entrypoint: ['/bin/sh', '-c', 'ln -s /etc/passwd /opt/ml/model/passwd && echo ok > /opt/ml/model/real.txt'] });
    expect(run.result.succeeded).toBe(true);
    const listing = tarList(join(run.artifactsDir, 'model.tar.gz'));
    expect(listing.find((l) => l.includes('passwd'))).toMatch(/^l.* passwd -> \/etc\/passwd$/);
    expect(listing.find((l) => l.includes('real.txt'))).toMatch(/^-/);
  });

  it('reports IMAGE_PULL_FAILED for an image that exists nowhere', async () => {
    using run = await runProbe({}, { imageUri: '127.0.0.1:9/nothing/here:v1' });
    expect(run.result.statusCode).toBe('IMAGE_PULL_FAILED');
    expect(run.result.message).toContain('127.0.0.1:9/nothing/here:v1');
  });
});

