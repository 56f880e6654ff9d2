import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import { listChannelFiles, shardFor } from '../../src/runner/channel-shards.js';
import { clusterNetworkName } from '../../src/runner/cluster-network.js';
import type { ContainerEngine } from '../../src/runner/container-engine.js';
import type { LogLine, RunResult, TrainingJobSpec } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';

const PROBE = 'crml-examples/probe:latest';
const TEST_LABEL = 'crml.test=1';
const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcdee';
const engine = createEngine('unix:///var/run/docker.sock');

const tarFile = (file: string, member: string) => execFileSync('tar', ['-xzOf', file, member], { encoding: 'utf8' });
const testNetworks = () => execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=${TEST_LABEL}`], { encoding: 'utf8' }).trim();

interface ClusterRun {
  result: RunResult;
  lines: LogLine[];
  containerIds: string[];
  model: string;
  output: string;
  tookMs: number;
  [Symbol.dispose](): void;
}

/** A channel `train` of `fileCount` files (some in a sub-folder), run on the probe with `over`. */
async function runCluster(
  hyperparameters: Record<string, string>,
  over: Partial<TrainingJobSpec>,
  fileCount = 2,
  opts: { engine?: ContainerEngine; signal?: AbortSignal } = {},
): Promise<ClusterRun> {
  const work = mkdtempSync(join(tmpdir(), 'crml-multi-test-'));
  const data = join(work, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  for (let i = 0; i < fileCount; i++) writeFileSync(join(data, i % 3 === 2 ? 'sub' : '', `part-${String(i).padStart(2, '0')}.csv`), `${i},${i}\n`);
  const artifactsDir = join(work, 'artifacts');
  mkdirSync(artifactsDir);
  const runner = new DockerTrainingRunner({
    engine: opts.engine ?? engine,
    logger: pino({ level: 'silent' }),
    settings: defaultSettings({ dataDir: work, stopGracePeriodMs: 1500 }),
  });
  const lines: LogLine[] = [];
  const containerIds: string[] = [];
  const spec: TrainingJobSpec = {
    trainedModelArn: ARN,
    name: 'multi-test',
    membershipIdentifier: '00000000-0000-4000-8000-000000000001',
    imageUri: PROBE,
    metricDefinitions: [{ name: 'line', regex: '^line (\\d+)$' }],
    hyperparameters,
    environment: {},
    instanceType: 'ml.m5.large',
    instanceCount: 2,
    volumeSizeInGB: 1,
    maxRuntimeInSeconds: 600,
    trainingInputMode: 'File',
    channels: [{ channelName: 'train', hostPath: data, contentType: 'text/csv', s3DataDistributionType: 'FullyReplicated' }],
    artifactsDir,
    labels: { 'crml.test': '1' },
    ...over,
  };
  const t0 = Date.now();
  const result = await runner.run(
    spec,
    { onStarted: (i) => void containerIds.push(...i.containerIds), onLogLine: (l) => void lines.push(l), onMetric: () => undefined },
    opts.signal ?? new AbortController().signal,
  );
  return {
    result, lines, containerIds, tookMs: Date.now() - t0,
    model: join(artifactsDir, 'model.tar.gz'),
    output: join(artifactsDir, 'output.tar.gz'),
    [Symbol.dispose]: () => rmSync(work, { recursive: true, force: true }),
  };
}

/** The probe's `<prefix> <host> <rest>` stdout lines, per host. */
function perHost(lines: LogLine[], prefix: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of lines) {
    const m = new RegExp(`^${prefix} (\\S+) (.*)$`).exec(l.text);
    if (!m || l.stream !== 'stdout') continue;
    // The line's host label (from the runner) and the host the probe says it is must agree.
    expect(l.host).toBe(m[1]);
    (out[m[1]!] ??= []).push(m[2]!);
  }
  return out;
}

beforeAll(async () => {
  expect(await engine.inspectImage(PROBE), `${PROBE} is missing: run bash scripts/build-images.sh probe`).toBeDefined();
});

afterEach(async () => {
  // Every run removes its containers and its network, on every path.
  const left = await engine.listContainers(TEST_LABEL);
  for (const c of left) await engine.removeContainer(c.id);
  const networks = testNetworks();
  if (networks) execFileSync('docker', ['network', 'rm', ...networks.split('\n')]);
  expect(left).toEqual([]);
  expect(networks).toBe('');
});

describe('ShardedByS3Key shares', () => {
  it('deals the sorted files round-robin: disjoint, deterministic, covering every file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-shard-test-'));
    try {
      mkdirSync(join(dir, 'b'));
      for (const name of ['c.csv', 'a.csv', 'b/x.csv', 'B.csv']) writeFileSync(join(dir, name), name);
      const files = await listChannelFiles(dir);
      expect(files.map((f) => [f.relativePath, f.size])).toEqual([['B.csv', 5], ['a.csv', 5], ['b/x.csv', 7], ['c.csv', 5]]);
      expect(shardFor(files, 0, 3).map((f) => f.relativePath)).toEqual(['B.csv', 'c.csv']);
      expect(shardFor(files, 1, 3).map((f) => f.relativePath)).toEqual(['a.csv']);
      expect(shardFor(files, 2, 3).map((f) => f.relativePath)).toEqual(['b/x.csv']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DockerTrainingRunner with several instances (probe image)', () => {
  it('streams each host its share of a ShardedByS3Key channel, read-only, and every host resolves every other', async () => {
    const work = mkdtempSync(join(tmpdir(), 'crml-multi-data-'));
    try {
      mkdirSync(join(work, 'sub'));
      const names = Array.from({ length: 10 }, (_, i) => (i % 3 === 2 ? `sub/part-${i}.csv` : `part-${i}.csv`));
      for (const n of names) writeFileSync(join(work, n), `${n}\n`);
      using run = await runCluster(
        { list_channels_to_stdout: 'true', list_hosts_to_stdout: 'true', print_lines: '1', sleep_seconds: '6' },
        { instanceCount: 3, channels: [{ channelName: 'train', hostPath: work, contentType: 'text/csv', s3DataDistributionType: 'ShardedByS3Key' }] },
      );
      expect(run.result).toMatchObject({ succeeded: true, exitCode: 0 });
      expect(run.containerIds).toHaveLength(3);

      const shares = perHost(run.lines, 'channel-file');
      const sorted = [...names].sort();
      const expected = (i: number) => sorted.filter((_, k) => k % 3 === i).map((n) => `train/${n}`);
      expect(shares).toEqual({ 'algo-1': expected(0), 'algo-2': expected(1), 'algo-3': expected(2) });
      expect(Object.values(shares).flat().sort()).toEqual(sorted.map((n) => `train/${n}`));

      const hosts = perHost(run.lines, 'host-check');
      for (const h of ['algo-1', 'algo-2', 'algo-3']) expect(hosts[h]).toEqual(['algo-1=resolves', 'algo-2=resolves', 'algo-3=resolves']);
      expect(tarFile(run.output, 'hosts.txt')).toBe('algo-1=resolves\nalgo-2=resolves\nalgo-3=resolves\n');

      // Lines are labelled by the host that wrote them.
      for (const h of ['algo-1', 'algo-2', 'algo-3']) expect(run.lines).toContainEqual(expect.objectContaining({ host: h, stream: 'stdout', text: 'line 1' }));
      const runnerLines = run.lines.filter((l) => l.text.startsWith('[cleanrooms-ml-local]')).map((l) => l.text);
      expect(runnerLines).toContain("[cleanrooms-ml-local] Channel 'train' (ShardedByS3Key): streamed, a share of its 10 files per host (algo-1 4, algo-2 3, algo-3 3).");

      // algo-1's own view: its config, its share as read-only files in a read-only folder, a real network.
      expect(JSON.parse(tarFile(run.output, 'config/resourceconfig.json'))).toMatchObject({ current_host: 'algo-1', hosts: ['algo-1', 'algo-2', 'algo-3'] });
      expect(tarFile(run.output, 'env.txt')).toContain('SM_HOSTS=["algo-1","algo-2","algo-3"]\n');
      expect(tarFile(run.output, 'writable.txt')).toMatch(/train=no/);
      expect(tarFile(run.output, 'channels.txt')).toMatch(/^\d+ train\/part-0\.csv$/m);
      expect(tarFile(run.output, 'network.txt')).toMatch(/^interfaces=.*eth0/m);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('fails the whole job as soon as one instance fails, naming it, and stops the others', async () => {
    using run = await runCluster(
      { fail_on_host: 'algo-2', exit_code: '4', failure_text: 'algo-2 found no data', sleep_seconds: '120' },
      { instanceCount: 3 },
    );
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'ALGORITHM_ERROR', exitCode: 4, timedOut: false, cancelled: false });
    expect(run.result.message).toBe('Instance algo-2 failed: algo-2 found no data');
    // The others were sleeping for 120 s: SIGTERM ended them at once.
    expect(run.tookMs).toBeLessThan(30_000);
    expect(run.lines.map((l) => l.text)).toContain('[cleanrooms-ml-local] algo-2 exited with code 4: stopping the other instances.');
    // algo-1's partial model is still packaged.
    expect(tarFile(run.model, 'partial.txt')).toBe('probe partial model\n');
    expect(await engine.listContainers(`crml.trained-model=${ARN}`)).toEqual([]);
    expect(testNetworks()).toBe('');
  });

  it('runs 2 FullyReplicated instances to ACTIVE with the model and output of algo-1', async () => {
    using run = await runCluster({ model_text: 'cluster model' }, { instanceCount: 2 });
    expect(run.result).toMatchObject({ succeeded: true, exitCode: 0 });
    expect(tarFile(run.model, 'model.txt')).toBe('cluster model\n');
    expect(JSON.parse(tarFile(run.output, 'config/resourceconfig.json'))).toMatchObject({ current_host: 'algo-1', hosts: ['algo-1', 'algo-2'] });
    const env = tarFile(run.output, 'env.txt');
    expect(env).toContain('SM_CURRENT_HOST=algo-1\n');
    expect(env).toContain('SM_HOSTS=["algo-1","algo-2"]\n');
    // Every file on every host, through the same read-only bind mount as a single instance.
    const channels = tarFile(run.output, 'channels.txt');
    expect(channels).toMatch(/^4 train\/part-00\.csv$/m);
    expect(channels).toMatch(/^4 train\/part-01\.csv$/m);
    expect(tarFile(run.output, 'mounts.txt')).toMatch(/ \/opt\/ml\/input\/data\/train \S+ ro[ ,]/);
    expect(tarFile(run.output, 'limits.txt')).toMatch(new RegExp(`^memory_limit_bytes=${8 * 1024 ** 3}$`, 'm'));
    expect(run.lines.map((l) => l.text)).toContain("[cleanrooms-ml-local] Channel 'train' (FullyReplicated): mounted read-only, every file on every host.");
    expect(run.lines.map((l) => l.text)).toContain(
      `[cleanrooms-ml-local] instanceCount 2: hosts algo-1, algo-2 on an internal network of their own (${clusterNetworkName(ARN)}).`,
    );
  });

  it('stops every instance at the deadline and on cancel', async () => {
    using late = await runCluster({ sleep_seconds: '60' }, { instanceCount: 2, maxRuntimeInSeconds: 1 });
    expect(late.result).toMatchObject({ succeeded: false, statusCode: 'MAX_RUNTIME_EXCEEDED', timedOut: true });
    expect(late.tookMs).toBeLessThan(20_000);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1500);
    using cancelled = await runCluster({ sleep_seconds: '60' }, { instanceCount: 3 }, 2, { signal: abort.signal });
    expect(cancelled.result).toMatchObject({ succeeded: false, statusCode: 'CANCELLED', cancelled: true });
    expect(cancelled.tookMs).toBeLessThan(20_000);
  });

  it('removes the containers already made and the network when creating instance 2 fails', async () => {
    // The real engine, refusing the second create: the cleanup path of a cluster that never started.
    let creates = 0;
    const failing = new Proxy(engine, {
      get(target, prop, receiver) {
        if (prop === 'createContainer') {
          return async (spec: Parameters<ContainerEngine['createContainer']>[0]) => {
            creates += 1;
            if (creates === 2) throw new Error('no room for algo-2');
            return target.createContainer(spec);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    using run = await runCluster({}, { instanceCount: 3 }, 2, { engine: failing });
    expect(run.result).toMatchObject({ succeeded: false, statusCode: 'INTERNAL_ERROR' });
    expect(run.result.message).toContain('no room for algo-2');
    expect(run.containerIds).toEqual([]);
    expect(creates).toBe(2);
    // afterEach checks that no container and no network are left.
  });

  it('re-attaches to every container of a running cluster (a second runner, as after a restart)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'crml-multi-reattach-'));
    try {
      const later = new DockerTrainingRunner({ engine, logger: pino({ level: 'silent' }), settings: defaultSettings({ dataDir: work, stopGracePeriodMs: 1500 }) });
      const lines: LogLine[] = [];
      let reattached: Promise<RunResult | undefined> | undefined;
      const first = runCluster({ print_lines: '1', sleep_seconds: '3', model_text: 'picked up' }, { instanceCount: 2 });
      // Wait for the first runner's containers, then follow them from the second runner too.
      for (let i = 0; i < 100 && !reattached; i++) {
        const found = await engine.listContainers(`crml.trained-model=${ARN}`);
        if (found.length === 2 && found.every((c) => c.running)) {
          mkdirSync(join(work, 'artifacts'));
          reattached = later.reattach(
            { ...baseSpec(), artifactsDir: join(work, 'artifacts') },
            { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined },
            new AbortController().signal,
            { startedAt: new Date(), skipLines: { stdout: 0, stderr: 0 }, skipLinesByHost: { 'algo-1': { stdout: 0, stderr: 0 }, 'algo-2': { stdout: 0, stderr: 0 } } },
          );
        } else await new Promise((r) => setTimeout(r, 100));
      }
      expect(reattached).toBeDefined();
      const result = await reattached!;
      // Both runners follow the same containers; whichever removes them first may cut the other short, so only
      // the re-attached one's result is asserted.
      using _run = await first;
      expect(result).toMatchObject({ succeeded: true, exitCode: 0 });
      expect(tarFile(join(work, 'artifacts', 'model.tar.gz'), 'model.txt')).toBe('picked up\n');
      expect(lines.filter((l) => l.text === 'line 1').map((l) => l.host).sort()).toEqual(['algo-1', 'algo-2']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

/** The spec fields a re-attaching runner needs (the same trained model as runCluster's). */
function baseSpec(): TrainingJobSpec {
  return {
    trainedModelArn: ARN, name: 'multi-test', membershipIdentifier: '00000000-0000-4000-8000-000000000001', imageUri: PROBE,
    metricDefinitions: [], hyperparameters: {}, environment: {}, instanceType: 'ml.m5.large', instanceCount: 2, volumeSizeInGB: 1,
    maxRuntimeInSeconds: 600, trainingInputMode: 'File', channels: [], artifactsDir: '', labels: { 'crml.test': '1' },
  };
}
