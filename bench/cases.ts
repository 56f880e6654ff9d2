/**
 * What `npm run bench` measures, each case beside its baseline in the same run, interleaved (baseline, ours,
 * baseline, ours…) so that a machine getting busier shifts both. Whole processes are the built CLI
 * (dist/bin/crml.cjs, the bundle `bin` names) run as a command, as a shell runs `crml` (its first lines start
 * Node); in-process cases use the service as a program embedding it does.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CleanRoomsMLLocal } from '../src/api/service.js';
import { DEFAULT_MEMBERSHIP_ID } from '../src/settings.js';
import { discoverEngine } from '../src/runner/engine-discovery.js';
import { DockerEngine } from '../src/runner/docker-engine.js';
import { loadDockerode } from '../src/runner/dockerode-loader.js';
import { packageArtifacts } from '../src/runner/artifact-packager.js';
import { channelShardTar, listChannelFiles } from '../src/runner/channel-shards.js';
import type { ContainerEngine } from '../src/runner/container-engine.js';
import { LABEL_TRAINED_MODEL } from '../src/runner/container-config.js';
import { stats, type Row } from './table.js';

export const IMAGE = 'crml-examples/probe:latest';
const ROLE = 'arn:aws:iam::123456789012:role/r';
const CLI = resolve(import.meta.dirname, '../dist/bin/crml.cjs');
/** `crml <args>` as a shell runs the command: the file itself (its first lines start Node), not `node <file>`. */
const crml = (args: string[], env?: NodeJS.ProcessEnv) => timed(CLI, args, env);
/** Containers the bench makes outside the runner carry this label, and only they are removed by it. */
const BENCH_LABEL = 'crml-bench=1';

export interface BenchOptions {
  /** Samples per side for the short cases (process starts, no-op runs). */
  runs: number;
  /** Samples per side for the heavy ones (millions of lines, a GiB of model). */
  heavyRuns: number;
  logLines: number;
  logsCommandLines: number;
  modelBytes: number;
  channelBytes: number;
  /** Seconds of wrk per sample. */
  wrkSeconds: number;
  /** Samples per side of wrk (each one is seconds of load, and steadier than a process start). */
  wrkRuns: number;
  log: (s: string) => void;
}

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `crml-bench-${prefix}-`));

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolvePromise({ ms, stdout, stderr });
    });
  });
}

/** Baseline and ours, alternately, `n` times each (after one untimed warm-up of each). */
async function sideBySide(n: number, base: () => Promise<number>, ours: () => Promise<number>): Promise<{ base: number[]; ours: number[] }> {
  await base();
  await ours();
  const b: number[] = [];
  const o: number[] = [];
  for (let i = 0; i < n; i++) {
    // Alternating which goes first, so neither always runs on the heels of the other.
    if (i % 2 === 0) {
      b.push(await base());
      o.push(await ours());
    } else {
      o.push(await ours());
      b.push(await base());
    }
  }
  return { base: b, ours: o };
}

/**
 * The runner's own peak memory: one run of `entrypoint` through `crml create-trained-model` in a process of its
 * own, as `/usr/bin/time` reports its maximum resident set (the bench's own process holds more than a runner).
 */
async function runnerPeakRssMb(entrypoint: string[], metricDefinitions?: { name: string; regex: string }[]): Promise<number> {
  const dataDir = tmp('rss');
  const empty = tmp('empty');
  try {
    const service = new CleanRoomsMLLocal({ settings: { dataDir }, reconcile: false });
    const setup = await noopSetup(service, empty, entrypoint, metricDefinitions);
    service.store.close();
    const { stderr } = await timed('/usr/bin/time', [
      '-f', 'maxrss=%M', 'node', CLI, 'create-trained-model', '--name', 'rss',
      '--configured-model-algorithm-association-arn', setup.configuredModelAlgorithmAssociationArn,
      '--resource-config', '{"instanceType":"ml.m5.large","volumeSizeInGB":10}',
      '--data-channels', JSON.stringify([{ channelName: 'train', mlInputChannelArn: setup.mlInputChannelArn }]),
      // The runner's own process: through a resident worker, /usr/bin/time would measure only the client.
    ], { ...process.env, CRML_DATA_DIR: dataDir, CRML_DAEMON: '0' });
    const kb = /maxrss=(\d+)/.exec(stderr);
    if (!kb || !statusesOf(dataDir).every((st) => st === 'ACTIVE')) throw new Error(`the run for the RSS measure failed: ${stderr.slice(-2000)}`);
    return Number(kb[1]) / 1024;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

/** An algorithm, its association and an empty local channel: what every no-op run trains with. */
async function noopSetup(service: CleanRoomsMLLocal, empty: string, entrypoint: string[], metricDefinitions?: { name: string; regex: string }[]) {
  const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
    name: 'bench', roleArn: ROLE, trainingContainerConfig: { imageUri: IMAGE, entrypoint, metricDefinitions },
  });
  const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
    membershipIdentifier: DEFAULT_MEMBERSHIP_ID, configuredModelAlgorithmArn, name: 'bench',
  });
  const { mlInputChannelArn } = await service.createMLInputChannel({
    membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: 'empty', retentionInDays: 1,
    configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
    inputChannel: { roleArn: ROLE, dataSource: { localDataSource: { path: empty } } },
  });
  return { configuredModelAlgorithmAssociationArn, mlInputChannelArn };
}

let counter = 0;
async function trainInProcess(service: CleanRoomsMLLocal, setup: Awaited<ReturnType<typeof noopSetup>>): Promise<string> {
  const { trainedModelArn } = await service.createTrainedModel({
    membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: `bench-${(counter += 1)}`,
    configuredModelAlgorithmAssociationArn: setup.configuredModelAlgorithmAssociationArn,
    resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
    dataChannels: [{ channelName: 'train', mlInputChannelArn: setup.mlInputChannelArn }],
  });
  await service.waitForRuns(trainedModelArn);
  return trainedModelArn;
}

function statusesOf(dataDir: string): string[] {
  const service = new CleanRoomsMLLocal({ settings: { dataDir }, reconcile: false });
  try {
    return service.store.list<{ status: string }>({ kind: 'trained-model', limit: 10_000 }).map((r) => r.body.status);
  } finally {
    service.store.close();
  }
}

/** Containers still there of the trained models in `dataDir` (the runner labels each with its trained model's ARN). */
function containersLeft(dataDir: string): number {
  const service = new CleanRoomsMLLocal({ settings: { dataDir }, reconcile: false });
  try {
    const arns = new Set(service.store.list({ kind: 'trained-model', limit: 10_000 }).map((r) => r.arn));
    let left = 0;
    for (const arn of arns) {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABEL_TRAINED_MODEL}=${arn}`], { encoding: 'utf8' }).trim();
      if (ids) left += ids.split('\n').length;
    }
    return left;
  } finally {
    service.store.close();
  }
}

const dockerRunNoop = (empty: string) => async () =>
  (await timed('docker', ['run', '--rm', '--network', 'none', '-v', `${empty}:/opt/ml/input/data/train:ro`, '--entrypoint', '/bin/true', IMAGE])).ms;

/**
 * The user's resident worker (src/cli/daemon) up, as after a user's first command: one unmeasured command starts
 * it, as hyperfine's --warmup would. With CRML_DAEMON=0 in the bench's environment, every command runs in its own
 * process and this does nothing.
 */
async function residentWorkerReady(env: NodeJS.ProcessEnv): Promise<void> {
  if (env.CRML_DAEMON === '0') return;
  await crml(['list-trained-models'], env);
  for (let i = 0; i < 100; i++) {
    const { stdout } = await crml(['daemon', 'status'], env);
    if ((JSON.parse(stdout) as { running: boolean }).running) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await crml(['list-trained-models'], env);
}

/** No-op runs through the CLI, whole process: create-trained-model (and crml train where it exists). */
export async function noopCli(o: BenchOptions): Promise<{ rows: Row[]; dataDir: string }> {
  const dataDir = tmp('noop-cli');
  const empty = tmp('empty');
  const service = new CleanRoomsMLLocal({ settings: { dataDir }, reconcile: false });
  const setup = await noopSetup(service, empty, ['/bin/true']);
  service.store.close();
  const env = { ...process.env, CRML_DATA_DIR: dataDir, CRML_LOG_LEVEL: 'warn' };
  const createArgs = () => [
    'create-trained-model', '--name', `cli-${(counter += 1)}`,
    '--configured-model-algorithm-association-arn', setup.configuredModelAlgorithmAssociationArn,
    '--resource-config', '{"instanceType":"ml.m5.large","volumeSizeInGB":1}',
    '--data-channels', JSON.stringify([{ channelName: 'train', mlInputChannelArn: setup.mlInputChannelArn }]),
  ];
  await residentWorkerReady(env);
  o.log('no-op run: crml create-trained-model vs docker run');
  const create = await sideBySide(o.runs, dockerRunNoop(empty), async () => (await crml(createArgs(), env)).ms);
  const statuses = statusesOf(dataDir);
  const rows: Row[] = [
    {
      measure: 'no-op run, `crml create-trained-model`, whole process',
      baseline: '`docker run --rm --network none -v <empty>:…/train:ro <image> /bin/true`',
      unit: 'ms', ours: stats(create.ours), base: stats(create.base), goal: { atMost: 1.3 },
      checks: [{ name: 'all ACTIVE', ok: statuses.every((s) => s === 'ACTIVE') }],
    },
  ];
  const hasTrain = /^ +train\b/m.test(spawnSync('node', [CLI, '--help'], { env, encoding: 'utf8' }).stdout);
  if (hasTrain) {
    o.log('no-op run: crml train vs docker run');
    const trainArgs = () => ['train', '--name', `train-${(counter += 1)}`, '--image', IMAGE, '--entrypoint', '/bin/true', '--channel', `train=${empty}`];
    const train = await sideBySide(o.runs, dockerRunNoop(empty), async () => (await crml(trainArgs(), env)).ms);
    const after = statusesOf(dataDir);
    rows.unshift({
      measure: 'no-op run, `crml train`, whole process',
      baseline: 'the same `docker run`',
      unit: 'ms', ours: stats(train.ours), base: stats(train.base), goal: { atMost: 1.3 },
      checks: [{ name: 'all ACTIVE', ok: after.every((s) => s === 'ACTIVE') }],
    });
  } else {
    rows.unshift({ measure: 'no-op run, `crml train`, whole process', baseline: 'the same `docker run`', unit: 'ms', ours: stats([0]), goal: { atMost: 1.3 }, skipped: 'this build has no `crml train`' });
  }
  rows[rows.length - 1]!.checks!.push({ name: 'no container left', ok: containersLeft(dataDir) === 0 });
  rmSync(empty, { recursive: true, force: true });
  return { rows, dataDir };
}

/** A no-op run through a service that is already open (engine connected, image present), as a CI loop sees it. */
export async function noopWarm(o: BenchOptions): Promise<Row> {
  const dataDir = tmp('noop-warm');
  const empty = tmp('empty');
  const service = new CleanRoomsMLLocal({ settings: { dataDir } });
  try {
    await service.reconciled;
    const setup = await noopSetup(service, empty, ['/bin/true']);
    o.log('no-op run: warm service vs docker run');
    const r = await sideBySide(o.runs, dockerRunNoop(empty), async () => {
      const t0 = performance.now();
      await trainInProcess(service, setup);
      return performance.now() - t0;
    });
    const statuses = service.store.list<{ status: string }>({ kind: 'trained-model', limit: 10_000 }).map((x) => x.body.status);
    return {
      measure: 'no-op run through a warm service (in process)',
      baseline: 'the same `docker run`',
      unit: 'ms', ours: stats(r.ours), base: stats(r.base), goal: { atMost: 1.1 },
      checks: [{ name: 'all ACTIVE', ok: statuses.every((s) => s === 'ACTIVE') }],
    };
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

/** `crml list-trained-models`, whole process, against Node starting and doing nothing. */
export async function cliStart(o: BenchOptions, dataDir: string): Promise<Row> {
  const env = { ...process.env, CRML_DATA_DIR: dataDir };
  o.log('CLI start: crml list-trained-models vs node -e 0');
  const r = await sideBySide(o.runs * 2, async () => (await timed('node', ['-e', '0'])).ms, async () => (await crml(['list-trained-models'], env)).ms);
  return { measure: 'CLI start, `crml list-trained-models`', baseline: '`node -e 0`', unit: 'ms', ours: stats(r.ours), base: stats(r.base), goal: { atMost: 2.5 } };
}

interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
}

const LATENCY_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p99 = out.split('\n').map((l) => /^ {2,}99% +([\d.]+)(us|ms|s)$/.exec(l.trimEnd())).find(Boolean);
  if (!rps || !p99) throw new Error(`unexpected wrk output: ${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(non2xx?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { requestsPerSecond: Number(rps[1]), p99Ms: Number(p99[1]) * LATENCY_UNITS[p99[2]!]!, errors };
}

/** Starts a server process (pinned to CPU 0) and resolves with its URL once it prints one. */
function startServer(args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => void }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('taskset', ['-c', '0', 'node', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) resolvePromise({ url: m[1]!, stop: () => child.kill('SIGINT') });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited ${code} before listening: ${out}`)));
  });
}

/** The same body size as ours, from the plainest node:http server (the baseline of the endpoint). */
const BARE_SERVER = `
const body = JSON.stringify({ x: 'y'.repeat(Number(process.argv[1]) - 8) });
require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(0, '127.0.0.1', function () { console.log('http://127.0.0.1:' + this.address().port); });`;

/** GetTrainedModel through `crml serve` against a bare node:http server, with wrk (16 connections, pinned to CPU 1). */
export async function serveGet(o: BenchOptions, dataDir: string): Promise<Row> {
  const env = { ...process.env, CRML_DATA_DIR: dataDir };
  const service = new CleanRoomsMLLocal({ settings: { dataDir }, reconcile: false });
  const arn = service.store.list<{ trainedModelArn: string }>({ kind: 'trained-model', limit: 1 })[0]!.arn;
  service.store.close();
  const path = `/memberships/${DEFAULT_MEMBERSHIP_ID}/trained-models/${encodeURIComponent(arn)}`;
  const crml = await startServer([CLI, 'serve', '--port', '0'], env);
  const size = (await (await fetch(crml.url + path)).text()).length;
  const bare = await startServer(['-e', BARE_SERVER, String(size)], env);
  const wrk = async (url: string) => {
    const { stdout } = await timed('taskset', ['-c', '1', 'wrk', '-t1', '-c16', `-d${o.wrkSeconds}s`, '--latency', url]);
    return parseWrk(stdout);
  };
  o.log(`GetTrainedModel (${size} bytes): crml serve vs node:http, wrk ${o.wrkSeconds}s each`);
  const b: WrkResult[] = [];
  const c: WrkResult[] = [];
  try {
    const r = await sideBySide(
      o.wrkRuns,
      async () => (b.push(await wrk(`${bare.url}/`)), b.at(-1)!.requestsPerSecond),
      async () => (c.push(await wrk(crml.url + path)), c.at(-1)!.requestsPerSecond),
    );
    const p99 = stats(c.slice(1).map((x) => x.p99Ms));
    return {
      measure: 'GetTrainedModel through `crml serve` (wrk, 16 connections), req/s',
      baseline: `bare \`node:http\` JSON server, same body size (${size} B)`,
      unit: 'req/s', ours: stats(r.ours), base: stats(r.base), goal: { atLeast: 0.3 },
      checks: [
        { name: `p99 < 10 ms (median ${p99.median.toFixed(1)} ms)`, ok: p99.median < 10 },
        { name: 'no errors', ok: c.every((x) => x.errors === 0) },
      ],
    };
  } finally {
    crml.stop();
    bare.stop();
  }
}

/** The line the log case printed as its i-th (1-based). */
const printedLine = (i: number) => `step=${i}${i % 10000 === 0 ? ' loss=0.5' : ''}`;

/** The expected stored text of the log case, hashed as the runner stores it. */
function logChecksum(lines: number): string {
  const h = createHash('sha256');
  for (let i = 1; i <= lines; i++) h.update(`${printedLine(i)}\n`);
  return h.digest('hex');
}

/**
 * The stored lines' count and hash, and where they first part from what was printed: a replayed block shows as
 * `step=1` again after `step=K`, so the boundary names which lines came twice.
 */
function storedLogChecksum(service: CleanRoomsMLLocal, arn: string): { lines: number; checksum: string; firstOff?: string } {
  const h = createHash('sha256');
  let lines = 0;
  let after = 0;
  let firstOff: string | undefined;
  for (;;) {
    const page = service.store.readLogLines(arn, '', after, 50_000);
    if (page.length === 0) break;
    for (const l of page) {
      h.update(`${l.text}\n`);
      lines += 1;
      if (firstOff === undefined && l.text !== printedLine(lines)) {
        firstOff = `stored line ${lines} is "${l.text.slice(0, 40)}" (${l.stream}), printed "${printedLine(lines)}"`;
      }
    }
    after = page[page.length - 1]!.seq;
  }
  return { lines, checksum: h.digest('hex'), firstOff };
}

/** Log capture: a container prints millions of lines under 40 metric definitions (a few match). */
export async function logCapture(o: BenchOptions): Promise<{ row: Row; peakRssMb: number }> {
  const n = o.logLines;
  const script = `seq 1 ${n} | sed 's/^/step=/; s/0000$/0000 loss=0.5/'`;
  const dataDir = tmp('logs');
  const empty = tmp('empty');
  const service = new CleanRoomsMLLocal({ settings: { dataDir } });
  const expected = logChecksum(n);
  const checks: { name: string; ok: boolean }[] = [];
  try {
    await service.reconciled;
    const metrics = Array.from({ length: 40 }, (_, i) => ({ name: `m${i}`, regex: i < 3 ? 'loss=([0-9.]+)' : `metric_${i}=([0-9.]+)` }));
    const setup = await noopSetup(service, empty, ['/bin/sh', '-c', script], metrics);
    o.log(`log capture: ${n} lines, 40 metric definitions, vs docker run > /dev/null`);
    let lost = 0;
    let extra = 0;
    let corrupt = 0;
    const r = await sideBySide(
      o.heavyRuns,
      async () => (await timed('sh', ['-c', `docker run --rm --network none --entrypoint /bin/sh ${IMAGE} -c "${script}" > /dev/null`])).ms,
      async () => {
        const t0 = performance.now();
        const arn = await trainInProcess(service, setup);
        const ms = performance.now() - t0;
        const stored = storedLogChecksum(service, arn);
        lost += Math.max(0, n - stored.lines);
        extra += Math.max(0, stored.lines - n);
        if (stored.checksum !== expected) {
          corrupt += 1;
          if (stored.firstOff) o.log(`log capture: ${stored.lines} lines stored; first off: ${stored.firstOff}`);
        }
        return ms;
      },
    );
    const whole = lost === 0 && extra === 0 && corrupt === 0;
    checks.push({ name: `0 lost (${whole ? 0 : `${lost} lost, ${extra} extra, ${corrupt} runs not as printed`})`, ok: whole });
    o.log('log capture: the runner\'s peak RSS, one run through the CLI');
    const peak = await runnerPeakRssMb(['/bin/sh', '-c', script], metrics);
    return {
      row: {
        measure: `${(n / 1e6).toFixed(n % 1e6 ? 1 : 0)}M log lines, 40 metric definitions (in process)`,
        baseline: '`docker run … > /dev/null`',
        unit: 'ms', ours: stats(r.ours), base: stats(r.base), goal: { atMost: 1.25 }, checks,
      },
      peakRssMb: peak,
    };
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

/** `crml logs` of a run of many lines into a pipe, against `cat` of the same lines from a file; both read by sha256sum. */
export async function logsCommand(o: BenchOptions): Promise<Row> {
  const n = o.logsCommandLines;
  const dataDir = tmp('logs-cmd');
  const empty = tmp('empty');
  const file = join(dataDir, 'lines.txt');
  // Lines of about 100 bytes, as a training log prints them.
  const script = `seq 1 ${n} | sed 's/^/epoch=3 step=/; s/$/ loss=0.123456 accuracy=0.987654 lr=0.000100 throughput=1234.5 samples\\/s/'`;
  const service = new CleanRoomsMLLocal({ settings: { dataDir } });
  let arn: string;
  try {
    await service.reconciled;
    const setup = await noopSetup(service, empty, ['/bin/sh', '-c', script]);
    o.log(`crml logs: a run of ${n} lines (stored first)`);
    arn = await trainInProcess(service, setup);
  } finally {
    await service.close();
    rmSync(empty, { recursive: true, force: true });
  }
  const env = { ...process.env, CRML_DATA_DIR: dataDir };
  // The file holds exactly what crml logs prints (time, host, stream, text), written once through the command itself.
  execFileSync('sh', ['-c', `"${CLI}" logs "${arn}" > "${file}"`], { env });
  const want = execFileSync('sh', ['-c', `sha256sum < "${file}"`], { encoding: 'utf8' });
  const lines = Number(execFileSync('sh', ['-c', `wc -l < "${file}"`], { encoding: 'utf8' }).trim());
  const mb = statSync(file).size / 1e6;
  o.log(`crml logs (${lines} lines, ${mb.toFixed(0)} MB) | sha256sum vs cat | sha256sum`);
  let mismatches = 0;
  const piped = (cmd: string) => async () => {
    const { ms, stdout } = await timed('sh', ['-c', `${cmd} | sha256sum`], env);
    if (stdout !== want) mismatches += 1;
    return ms;
  };
  try {
    const r = await sideBySide(o.heavyRuns, piped(`cat "${file}"`), piped(`"${CLI}" logs "${arn}"`));
    return {
      measure: `\`crml logs\` of a ${(n / 1e6).toFixed(n % 1e6 ? 1 : 0)}M-line run (${mb.toFixed(0)} MB) into a pipe, whole process`,
      baseline: '`cat` of the same lines from a file',
      unit: 'ms', ours: stats(r.ours), base: stats(r.base), goal: { atMost: 3 },
      checks: [{ name: `0 lost (${lines === n && mismatches === 0 ? 0 : `${n - lines} lines, ${mismatches} mismatches`})`, ok: lines === n && mismatches === 0 }],
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A job writing `bytes` of model into /opt/ml/model (16 files). */
function modelScript(bytes: number): string {
  const files = 16;
  const each = Math.floor(bytes / files);
  // Text weights, as many models save them: compressible, so gzip (not the disk) sets the pace on both sides.
  return `mkdir -p /opt/ml/model && for i in $(seq 1 ${files}); do yes "layer=$i w=0.0123456789 -0.9876543210 0.5555555555 b=0.1" | head -c ${each} > /opt/ml/model/part-$i.txt; done`;
}

/** A container left exited with `bytes` of model in /opt/ml/model, made with `docker run`. */
function containerWithModel(bytes: number): string {
  const script = modelScript(bytes);
  return execFileSync('docker', ['run', '-d', '--label', BENCH_LABEL, '--network', 'none', '--entrypoint', '/bin/sh', IMAGE, '-c', script], { encoding: 'utf8' }).trim();
}

/** model.tar.gz of a large model: the runner's packaging (engine archive → fresh headers → gzip) against `tar czf`. */
export async function modelPackaging(o: BenchOptions): Promise<{ row: Row; peakRssMb: number }> {
  const engine = await discoverEngine({});
  const work = tmp('model');
  const id = containerWithModel(o.modelBytes);
  try {
    execFileSync('docker', ['wait', id]);
    // The same files on this machine, for tar czf.
    const folder = join(work, 'model');
    mkdirSync(folder);
    execFileSync('sh', ['-c', `docker cp ${id}:/opt/ml/model/. "${folder}"`]);
    const gib = o.modelBytes / 1024 ** 3;
    o.log(`model.tar.gz of ${gib} GiB: runner vs tar czf (gzip level 6 on both)`);
    const mbps = (ms: number) => o.modelBytes / 1e6 / (ms / 1000);
    let n = 0;
    const r = await sideBySide(
      o.heavyRuns,
      async () => mbps((await timed('tar', ['czf', join(work, 'baseline.tar.gz'), '-C', folder, '.'])).ms),
      async () => {
        const dir = join(work, `ours-${(n += 1)}`);
        mkdirSync(dir);
        const t0 = performance.now();
        await packageArtifacts(engine, id, dir);
        const ms = performance.now() - t0;
        rmSync(dir, { recursive: true, force: true });
        return mbps(ms);
      },
    );
    o.log(`model.tar.gz: the runner's peak RSS, one run writing ${gib} GiB through the CLI`);
    const peak = await runnerPeakRssMb(['/bin/sh', '-c', modelScript(o.modelBytes)]);
    return {
      row: {
        measure: `model.tar.gz of a ${gib} GiB model (throughput, in process)`,
        baseline: '`tar czf` of the same folder (gzip -6, as zlib\'s default)',
        unit: 'MB/s', ours: stats(r.ours), base: stats(r.base), goal: { atLeast: 0.8 },
      },
      peakRssMb: peak,
    };
  } finally {
    execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}

/** Files of `bytes` in all on this machine: the channel. */
function channelFolder(bytes: number): string {
  const dir = tmp('channel');
  const files = 16;
  for (let i = 0; i < files; i++) {
    execFileSync('sh', ['-c', `head -c ${Math.floor(bytes / files)} /dev/urandom > "${join(dir, `part-${i}.bin`)}"`]);
  }
  return dir;
}

/** A channel streamed into a container through the archive API (as for an engine that cannot see this machine) against `docker cp`. */
export async function channelStreaming(o: BenchOptions): Promise<Row> {
  const dir = channelFolder(o.channelBytes);
  const Docker = loadDockerode();
  // An engine that says it cannot see this machine's folders: the runner streams channels into it (as over tcp:// or ssh://).
  const remote: ContainerEngine = new DockerEngine(new Docker({ socketPath: '/var/run/docker.sock' }), { endpoint: 'tcp://remote-style', sharesHostFilesystem: false });
  const created: string[] = [];
  const container = () => {
    const id = execFileSync('docker', ['create', '--label', BENCH_LABEL, '--network', 'none', IMAGE, '/bin/true'], { encoding: 'utf8' }).trim();
    created.push(id);
    return id;
  };
  const gib = o.channelBytes / 1024 ** 3;
  const mbps = (ms: number) => o.channelBytes / 1e6 / (ms / 1000);
  // Each sample's GiBs written back (and its container's removal) before the next starts, so that neither side
  // pays for the other's writes.
  const removed = (id: string) => {
    execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    execFileSync('sync');
  };
  o.log(`a ${gib} GiB channel: streamed into a remote-style engine vs docker cp`);
  try {
    const r = await sideBySide(
      o.heavyRuns,
      async () => {
        const id = container();
        const t0 = performance.now();
        execFileSync('docker', ['cp', dir, `${id}:/train`]);
        const ms = performance.now() - t0;
        removed(id);
        return mbps(ms);
      },
      async () => {
        const id = container();
        const t0 = performance.now();
        await remote.putArchive(id, '/', channelShardTar('train', await listChannelFiles(dir)));
        const ms = performance.now() - t0;
        removed(id);
        return mbps(ms);
      },
    );
    return {
      measure: `a ${gib} GiB channel streamed into a remote-style engine (throughput)`,
      baseline: '`docker cp` of the same folder',
      unit: 'MB/s', ours: stats(r.ours), base: stats(r.base), goal: { atLeast: 0.8 },
    };
  } finally {
    for (const id of created) spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

export function rssRow(peaks: number[]): Row {
  return {
    measure: 'runner peak RSS (`crml create-trained-model` process) during the log and model cases',
    baseline: '—',
    unit: 'MB', ours: stats(peaks), goal: { below: 200, unit: 'MB' },
  };
}

export function writeJson(path: string, rows: Row[]): void {
  writeFileSync(path, JSON.stringify(rows, null, 2));
}
