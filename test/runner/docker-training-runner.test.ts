import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import Docker from 'dockerode';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerEngine } from '../../src/runner/docker-engine.js';
import type { ContainerEngine } from '../../src/runner/container-engine.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import type { HostCapacity } from '../../src/runner/resource-limits.js';
import type { LogLine, MetricPoint, RunResult, TrainingJobSpec } from '../../src/runner/types.js';
import { defaultSettings, type SettingsOverrides } from '../../src/settings.js';
import { checkArtifactSize, maxArtifactBytes } from '../../src/privacy/artifact-policy.js';

const PROBE = 'crml-examples/probe:latest';
// Its own label value: another test process on the same engine must never see this file's containers as its own.
const TEST_RUN = `runner-${process.pid}`;
const TEST_LABEL = `crml.test.run=${TEST_RUN}`;
const engine = createEngine('unix:///var/run/docker.sock');

function tarList(file: string): string[] {
  return execFileSync('tar', ['-tvzf', file], { encoding: 'utf8' }).trim().split('\n');
}
function tarFile(file: string, member: string): string {
  return execFileSync('tar', ['-xzOf', file, member], { encoding: 'utf8' });
}

interface ProbeRun {
  result: RunResult;
  lines: LogLine[];
  metrics: MetricPoint[];
  started: { imageDigest: string; containerIds: string[] }[];
  artifactsDir: string;
  model: string;
  output: string;
  [Symbol.dispose](): void;
}

async function runProbe(
  hyperparameters: Record<string, string>,
  over: Partial<TrainingJobSpec> = {},
  opts: { settings?: SettingsOverrides; signal?: AbortSignal; host?: HostCapacity; engine?: ContainerEngine } = {},
): Promise<ProbeRun> {
  const work = mkdtempSync(join(tmpdir(), 'crml-runner-test-'));
  const data = join(work, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  writeFileSync(join(data, 'a.csv'), '1,2\n');
  writeFileSync(join(data, 'sub', 'b.csv'), '3,4\n');
  const artifactsDir = join(work, 'artifacts');
  mkdirSync(artifactsDir);
  const runner = new DockerTrainingRunner({
    engine: opts.engine ?? engine,
    logger: pino({ level: 'silent' }),
    settings: defaultSettings({ dataDir: work, stopGracePeriodMs: 1500, ...opts.settings }),
    host: opts.host,
  });
  const lines: LogLine[] = [];
  const metrics: MetricPoint[] = [];
  const started: ProbeRun['started'] = [];
  const spec: TrainingJobSpec = {
    trainedModelArn: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcdef',
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
    labels: { 'crml.test': '1', 'crml.test.run': TEST_RUN },
    ...over,
  };
  const result = await runner.run(
    spec,
    { onStarted: (i) => void started.push(i), onLogLine: (l) => void lines.push(l), onMetric: (m) => void metrics.push(m) },
    opts.signal ?? new AbortController().signal,
  );
  return {
    result, lines, metrics, started, artifactsDir,
    model: join(artifactsDir, 'model.tar.gz'),
    output: join(artifactsDir, 'output.tar.gz'),
    [Symbol.dispose]: () => rmSync(work, { recursive: true, force: true }),
  };
}

beforeAll(async () => {
  expect(await engine.inspectImage(PROBE), `${PROBE} is missing: run bash scripts/build-images.sh probe`).toBeDefined();
});

afterEach(async () => {
  // Every run removes its containers, on every path: nothing of a test may be left on the engine.
  const left = await engine.listContainers(TEST_LABEL);
  for (const c of left) await engine.removeContainer(c.id);
  expect(left).toEqual([]);
});

describe('DockerTrainingRunner with the probe image', () => {
  it('succeeds and packages model.tar.gz with entries relative to /opt/ml/model', async () => {
    using run = await runProbe({ model_text: 'hello model' });
    expect(run.result).toMatchObject({ succeeded: true, exitCode: 0, timedOut: false, cancelled: false });
    expect(run.result.statusCode).toBeUndefined();
    expect(run.result.modelArtifactPath).toBe(run.model);
    expect(run.result.outputArtifactPath).toBe(run.output);
    expect(tarFile(run.model, 'model.txt')).toBe('hello model\n');
    expect(tarFile(run.model, 'partial.txt')).toBe('probe partial model\n');
    expect(tarList(run.model).every((l) => !/ model\//.test(l))).toBe(true);
    // The probe image was built here and never pushed: its digest is its image id.
    const image = await engine.inspectImage(PROBE);
    expect(run.result.imageDigest).toBe(image!.id);
    expect(run.started).toEqual([{ imageDigest: image!.id, containerIds: [expect.stringMatching(/^[0-9a-f]{64}$/)] }]);
  });

  it('gives the container the contract: config files, environment, invocation, mounts, limits and hardening', async () => {
    using run = await runProbe(
      { epochs: '3', 'learning-rate': '0.1' },
      {
        channels: [],
        environment: { MY_VAR: 'x y', SM_NUM_GPUS: 'override' },
      },
    );
    expect(run.result.succeeded).toBe(true);
    expect(tarFile(run.output, 'argv.txt')).toBe('train\n');
    expect(JSON.parse(tarFile(run.output, 'config/hyperparameters.json'))).toEqual({ epochs: '3', 'learning-rate': '0.1' });
    expect(JSON.parse(tarFile(run.output, 'config/inputdataconfig.json'))).toEqual({});
    expect(JSON.parse(tarFile(run.output, 'config/resourceconfig.json'))).toEqual({
      current_host: 'algo-1',
      current_instance_type: 'ml.m5.large',
      current_group_name: 'homogeneousCluster',
      hosts: ['algo-1'],
      instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: 'ml.m5.large', hosts: ['algo-1'] }],
      network_interface_name: 'eth0',
    });
    const env = tarFile(run.output, 'env.txt').split('\n');
    for (const line of [
      'SM_MODEL_DIR=/opt/ml/model', 'SM_OUTPUT_DIR=/opt/ml/output/data', 'SM_OUTPUT_DATA_DIR=/opt/ml/output/data',
      'SM_INPUT_DIR=/opt/ml/input', 'SM_INPUT_CONFIG_DIR=/opt/ml/input/config', 'SM_CHANNELS=[]',
      'SM_HPS={"epochs":"3","learning-rate":"0.1"}', 'SM_HP_EPOCHS=3', 'SM_HP_LEARNING_RATE=0.1',
      'SM_CURRENT_HOST=algo-1', 'SM_HOSTS=["algo-1"]', 'SM_NUM_CPUS=2', 'SM_NUM_GPUS=override',
      'SM_INPUT_DATA_CONFIG={}', 'TRAINING_JOB_NAME=probe-test', 'FILE_FORMAT=csv', 'MY_VAR=x y',
      `TRAINING_JOB_ARN=arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcdef`,
    ]) expect(env).toContain(line);
    expect(env.find((l) => l.startsWith('SM_RESOURCE_CONFIG='))).toContain('"current_host":"algo-1"');

    const limits = tarFile(run.output, 'limits.txt');
    expect(limits).toMatch(/^cpus=2(\.00)?$/m);
    expect(limits).toMatch(new RegExp(`^memory_limit_bytes=${8 * 1024 ** 3}$`, 'm'));
    expect(limits).toMatch(/^swap_limit_bytes=0$/m);
    expect(limits).toMatch(/^pids_max=4096$/m);
    expect(limits).toMatch(new RegExp(`^shm_size_bytes=${4 * 1024 ** 3}$`, 'm'));
    expect(tarFile(run.output, 'network.txt')).toMatch(/^interfaces=lo\s*$/m);
    expect(tarFile(run.output, 'capabilities.txt')).toMatch(/^CapEff:\s+0+$/m);
    expect(tarFile(run.output, 'capabilities.txt')).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(tarFile(run.output, 'mounts.txt')).not.toContain('docker.sock');
    const writable = tarFile(run.output, 'writable.txt');
    expect(writable).toMatch(/^\/opt\/ml\/input\/config=no$/m);
    expect(writable).toMatch(/^\/opt\/ml\/model=yes$/m);
    expect(writable).toMatch(/^\/opt\/ml\/output\/data=yes$/m);
  });

  it('mounts each channel read-only at /opt/ml/input/data/<channelName>', async () => {
    using run = await runProbe({});
    const channels = tarFile(run.output, 'channels.txt');
    expect(channels).toMatch(/^4 train\/a\.csv$/m);
    expect(channels).toMatch(/^4 train\/sub\/b\.csv$/m);
    expect(tarFile(run.output, 'writable.txt')).toMatch(/train=no/);
    expect(tarFile(run.output, 'mounts.txt')).toMatch(/ \/opt\/ml\/input\/data\/train \S+ ro[ ,]/);
    const env = tarFile(run.output, 'env.txt');
    expect(env).toContain('SM_CHANNEL_TRAIN=/opt/ml/input/data/train\n');
    expect(env).toContain('SM_CHANNELS=["train"]\n');
    const manifest = JSON.parse(readFileSync(join(run.artifactsDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ image: { uri: PROBE, digest: run.result.imageDigest }, exitCode: 0, limits: { vcpus: 2, gpus: 0 } });
    expect(manifest.channels).toEqual([{ channelName: 'train', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('follows the invocation table: entrypoint and arguments', async () => {
    using args = await runProbe({}, { arguments: ['fit', '--fast'] });
    expect(tarFile(args.output, 'argv.txt')).toBe('fit\n--fast\n');
    using both = await runProbe({}, { entrypoint: ['/bin/sh', '-c', 'echo "$0 $1"'], arguments: ['a', 'b'] });
    expect(both.result.succeeded).toBe(true);
    expect(both.lines.map((l) => l.text)).toEqual(['a b']);
  });

  it('ends ALGORITHM_ERROR with the first 1024 characters of /opt/ml/output/failure', async () => {
    using run = await runProbe({ exit_code: '3', failure_text: 'the data has no label column' });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'ALGORITHM_ERROR', exitCode: 3, message: 'the data has no label column' });
    expect(tarFile(run.model, 'model.txt')).toBe('probe model\n');
    using long = await runProbe({ exit_code: '1', failure_text: 'é'.repeat(1500) });
    expect(long.result.message).toBe('é'.repeat(1024));
  });

  it('without a failure file, reports the exit code and the last lines of stderr', async () => {
    using run = await runProbe({ exit_code: '7', print_stderr_lines: '12' });
    expect(run.result.statusCode).toBe('ALGORITHM_ERROR');
    expect(run.result.message).toBe(['Algorithm exited with code 7.', 'Last lines of stderr:', ...Array.from({ length: 10 }, (_, i) => `stderr line ${i + 3}`)].join('\n'));
  });

  it('delivers every line in order with its stream, and every metric point', async () => {
    using run = await runProbe(
      { print_text: 'epoch=1 loss=0.5 acc=0.9\\nnoise\\nepoch=2 loss=0.25 acc=0.95\\nloss=nan', print_lines: '2', print_stderr_lines: '2' },
      {
        metricDefinitions: [
          { name: 'loss', regex: 'loss=([0-9.]+)' },
          { name: 'acc', regex: 'acc=(?P<value>[0-9.]+)' },
          { name: 'epoch', regex: 'epoch=\\d+' },
          { name: 'line', regex: 'line (\\d+)' },
        ],
      },
    );
    // Order holds within a stream; stdout and stderr are two pipes, so their interleaving is not asserted.
    expect(run.lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual([
      'epoch=1 loss=0.5 acc=0.9', 'noise', 'epoch=2 loss=0.25 acc=0.95', 'loss=nan', 'line 1', 'line 2',
    ]);
    expect(run.lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['stderr line 1', 'stderr line 2']);
    const points = (stream: string) =>
      run.metrics.filter((m) => run.lines.some((l) => l.stream === stream && l.time === m.time)).map((m) => [m.name, m.value]);
    expect(run.metrics).toHaveLength(8);
    expect(points('stdout')).toEqual([['loss', 0.5], ['acc', 0.9], ['loss', 0.25], ['acc', 0.95], ['line', 1], ['line', 2]]);
    expect(run.metrics.filter((m) => m.name === 'line').map((m) => m.value).sort()).toEqual([1, 1, 2, 2]);
    expect(run.lines.every((l) => l.host === 'algo-1' && l.time instanceof Date)).toBe(true);
    const stdoutLine = (t: string) => run.lines.find((l) => l.text === t)!;
    // The first loss point, not metrics[0]: stderr's `line 1` may arrive first, as the two pipes interleave freely.
    expect(run.metrics.find((m) => m.name === 'loss')!.time).toEqual(stdoutLine('epoch=1 loss=0.5 acc=0.9').time);
  });

  it('ends OUT_OF_MEMORY when the engine kills the job for memory (host scaled down to 128 MiB)', async () => {
    using run = await runProbe({ allocate_mb: '400' }, {}, { host: { cpus: 2, memoryBytes: 128 * 1024 ** 2, gpus: 0 } });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'OUT_OF_MEMORY', exitCode: 137 });
    expect(run.result.message).toContain('ml.m5.large');
    expect(run.lines[0]!.text).toBe('[cleanrooms-ml-local] This host is smaller than ml.m5.large: the container gets 0.1 GiB of 8.0 GiB memory.');
  });

  it('streams the channels into the container when the engine cannot see this machine (a remote engine), and says so', async () => {
    // The same engine, declared remote: no bind mount may be used.
    const remote = new DockerEngine(new Docker({ socketPath: '/var/run/docker.sock' }), { endpoint: 'ssh://elsewhere', sharesHostFilesystem: false });
    using run = await runProbe({}, {}, { engine: remote });
    expect(run.result.succeeded).toBe(true);
    const channels = tarFile(run.output, 'channels.txt');
    expect(channels).toContain('train/a.csv');
    expect(channels).toContain('train/sub/b.csv');
    expect(tarFile(run.output, 'mounts.txt')).not.toMatch(/input\/data\/train/);
    expect(tarFile(run.output, 'writable.txt')).toMatch(/train=no/);
    expect(run.lines.map((l) => l.text)).toContain(
      "[cleanrooms-ml-local] Channel 'train' (FullyReplicated): streamed into the container, all 2 files (the engine cannot see this machine's folders).",
    );
  });

  it('refuses in strict mode when the host is smaller than the instance type', async () => {
    using run = await runProbe({}, { instanceType: 'ml.m5.4xlarge' }, { settings: { strictResources: true } });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'INTERNAL_ERROR' });
    expect(run.result.message).toContain('This host is smaller than ml.m5.4xlarge (strict mode): it can give only 2 of 16 vCPUs');
    expect(run.started).toEqual([]);
  });

  it('stops at maxRuntimeInSeconds with MAX_RUNTIME_EXCEEDED and keeps the partial model', async () => {
    const t0 = Date.now();
    using run = await runProbe({ sleep_seconds: '60' }, { maxRuntimeInSeconds: 1 });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'MAX_RUNTIME_EXCEEDED', timedOut: true, cancelled: false, exitCode: 143 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(tarFile(run.model, 'partial.txt')).toBe('probe partial model\n');
    expect(tarList(run.model).join('\n')).not.toContain('model.txt');
  });

  it('kills a job that ignores SIGTERM once the grace period is over', async () => {
    const t0 = Date.now();
    using run = await runProbe({ sleep_seconds: '60', ignore_sigterm: 'true' }, { maxRuntimeInSeconds: 1 }, { settings: { stopGracePeriodMs: 2000 } });
    const took = Date.now() - t0;
    expect(run.result).toMatchObject({ statusCode: 'MAX_RUNTIME_EXCEEDED', exitCode: 137 });
    expect(run.lines.map((l) => l.text)).toContain('probe: SIGTERM received and ignored');
    expect(took).toBeGreaterThanOrEqual(3000);
    expect(took).toBeLessThan(12_000);
    expect(tarFile(run.model, 'partial.txt')).toBe('probe partial model\n');
  });

  it('cancels through the abort signal: CANCELLED, and the first reason to stop wins over the deadline', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1000);
    using run = await runProbe({ sleep_seconds: '60', ignore_sigterm: 'true' }, { maxRuntimeInSeconds: 2 }, { signal: abort.signal, settings: { stopGracePeriodMs: 2500 } });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'CANCELLED', cancelled: true, timedOut: false });
  });

  it('cancels before the container starts when the signal is already aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    using run = await runProbe({}, {}, { signal: abort.signal });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'CANCELLED', cancelled: true });
    expect(run.started).toEqual([]);
  });

  it('reports IMAGE_PULL_FAILED with the engine and registry words', async () => {
    using nowhere = await runProbe({}, { imageUri: '127.0.0.1:9/nothing/here:v1' });
    expect(nowhere.result.statusCode).toBe('IMAGE_PULL_FAILED');
    expect(nowhere.result.message).toMatch(/^Could not pull 127\.0\.0\.1:9\/nothing\/here:v1: .*connection refused/);
    expect(nowhere.started).toEqual([]);
    using never = await runProbe({}, { imageUri: 'crml-test/no-such-image:v1' }, { settings: { pullPolicy: 'never' } });
    expect(never.result).toMatchObject({ statusCode: 'IMAGE_PULL_FAILED' });
    expect(never.result.message).toContain("crml-test/no-such-image:v1 is not on the engine");
  });

  it('archives links in /opt/ml/model as links, never what they point to', async () => {
    using run = await runProbe({}, {
      entrypoint: ['/bin/sh', '-c', 'ln -s /etc/passwd /opt/ml/model/passwd && echo ok > /opt/ml/model/real.txt && ln /opt/ml/model/real.txt /opt/ml/model/hard.txt'],
    });
    expect(run.result.succeeded).toBe(true);
    const listing = tarList(run.model);
    expect(listing.find((l) => l.includes('passwd'))).toMatch(/^l.* passwd -> \/etc\/passwd$/);
    // A hard link stays a link to the other name (which of the two is the file is the engine's choice).
    const files = listing.filter((l) => /^-.* (real|hard)\.txt$/.test(l));
    const links = listing.filter((l) => / (real|hard)\.txt link to (real|hard)\.txt$/.test(l));
    expect([files.length, links.length]).toEqual([1, 1]);
    expect(files[0]).toMatch(/^-/);
    expect(links[0]).toMatch(/^h/);
    expect(execFileSync('tar', ['-xzOf', run.model, 'passwd'], { encoding: 'utf8' })).toBe('');
  });

  it('fails a run whose artifacts exceed maxArtifactBytes before its manifest is written, in the policy\'s words', async () => {
    // 0.01 GB is 10737418 bytes; 11 MiB of random bytes do not compress below it.
    const policy = { value: 0.01, unit: 'GB' as const };
    using run = await runProbe({ write_mb: '11' }, { maxArtifactBytes: maxArtifactBytes(policy) });
    const bytes = statSync(run.model).size + statSync(run.output).size;
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'ALGORITHM_ERROR', exitCode: 0, message: checkArtifactSize(bytes, policy) });
    expect(run.result.message).toContain('maxArtifactSize of 0.01 GB (10737418 bytes)');
    const manifest = JSON.parse(readFileSync(join(run.artifactsDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ succeeded: false, statusCode: 'ALGORITHM_ERROR', message: run.result.message });
    // Within the limit (or with none), the same run succeeds.
    using within = await runProbe({ write_mb: '1' }, { maxArtifactBytes: maxArtifactBytes(policy) });
    expect(within.result).toMatchObject({ succeeded: true });
  });

  it('fails a channel whose folder is missing, before any container exists', async () => {
    using run = await runProbe({}, { channels: [{ channelName: 'train', hostPath: '/nonexistent/crml', contentType: 'text/csv', s3DataDistributionType: 'FullyReplicated' }] });
    expect(run.result).toMatchObject({ statusCode: 'INTERNAL_ERROR', message: "The data of channel 'train' is missing: /nonexistent/crml is not a folder." });
  });
});
