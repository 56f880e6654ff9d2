import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pino from 'pino';
import * as tar from 'tar-stream';
import { defaultSettings } from '../../src/settings.js';
import { discoverEngine } from '../../src/runner/engine-discovery.js';
import { DockerInferenceRunner } from '../../src/inference/docker-inference-runner.js';
import type { HostFirewall } from '../../src/inference/host-firewall.js';
import { LABEL_INFERENCE_JOB } from '../../src/inference/inference-labels.js';
import type { InferenceJobSpec } from '../../src/inference/types.js';
import type { LogLine } from '../../src/runner/types.js';
import { MEMBERSHIP, tempDataFolder } from '../helpers/fixtures.js';
import { buildInferenceImages, containersLabelled, csvOf, featureRows, LINEAR_REGRESSION_IMAGE, NETCHECK_IMAGE } from '../inference/inference-fixtures.js';

/** The runner alone, over a model.tar.gz made here (the data set's true coefficients): the edges of a job. */
describe('the inference runner on a real engine', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'crml-inference-runner-'));
  const modelArtifactPath = join(scratch, 'model.tar.gz');
  const settings = defaultSettings({ dataDir: join(scratch, 'data'), inferencePingTimeoutMs: 5000 });

  beforeAll(async () => {
    await buildInferenceImages();
    const pack = tar.pack();
    const written = pipeline(pack, createGzip(), createWriteStream(modelArtifactPath));
    pack.entry({ name: 'model.json' }, JSON.stringify({ type: 'linear-regression', feature_count: 3, weights: [2, -3, 0.5], bias: 1 }));
    pack.finalize();
    await written;
  }, 300_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function runJob(opts: { imageUri: string; input: string; firewall?: HostFirewall; allowHostReachable?: boolean } & Partial<Omit<InferenceJobSpec, 'input'>>) {
    const runner = new DockerInferenceRunner({
      engine: await discoverEngine({}),
      settings: { ...settings, inferenceAllowHostReachable: opts.allowHostReachable ?? false },
      logger: pino({ level: 'silent' }),
      firewall: opts.firewall,
    });
    const arn = `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/trained-model-inference-job/${randomBytes(16).toString('hex')}`;
    const jobDir = mkdtempSync(join(scratch, 'job-'));
    const lines: LogLine[] = [];
    const { input, firewall: _f, allowHostReachable: _a, ...rest } = opts;
    const result = await runner.run(
      {
        trainedModelInferenceJobArn: arn,
        name: 'direct',
        membershipIdentifier: MEMBERSHIP,
        environment: {},
        instanceType: 'ml.r6i.large',
        instanceCount: 1,
        modelArtifactPath,
        input: { hostPath: input, contentType: 'text/csv' },
        maxPayloadBytes: 6 * 1024 * 1024,
        maxRuntimeInSeconds: 300,
        jobDir,
        labels: { 'crml.test': 'inference' },
        ...rest,
      },
      { onStarted: () => undefined, onLogLine: (l) => lines.push(l) },
      new AbortController().signal,
    );
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
    return { result, lines, jobDir };
  }

  it('predicts with an inference-only instance type (ml.r6i.large)', async () => {
    const rows = featureRows(3);
    const { result, jobDir } = await runJob({ imageUri: LINEAR_REGRESSION_IMAGE, input: tempDataFolder({ 'x.csv': csvOf(rows) }) });
    expect(result).toMatchObject({ succeeded: true, invocations: 1 });
    const out = readFileSync(join(jobDir, 'output', 'x.csv.out'), 'utf8').trim().split('\n').map(Number);
    out.forEach((y, i) => expect(y).toBeCloseTo(2 * rows[i]![0]! - 3 * rows[i]![1]! + 0.5 * rows[i]![2]! + 1, 5));
  }, 120_000);

  it('fails a job whose output passes maxOutputSize, before writing past it', async () => {
    const { result } = await runJob({ imageUri: LINEAR_REGRESSION_IMAGE, input: tempDataFolder({ 'x.csv': csvOf(featureRows(100)) }), maxOutputBytes: 50 });
    expect(result).toMatchObject({
      succeeded: false,
      statusCode: 'ALGORITHM_ERROR',
      message: 'The answer of POST /invocations on algo-1 for x.csv records 1-100 is larger than the output this job may still write (50 bytes).',
    });
  }, 120_000);

  it('fails a job whose container exits, with its exit code', async () => {
    const { result } = await runJob({ imageUri: 'crml-examples/probe:latest', input: tempDataFolder({ 'x.csv': '1,2,3\n' }) });
    expect(result.succeeded).toBe(false);
    expect(result.statusCode).toBe('ALGORITHM_ERROR');
    expect(result.message).toMatch(/^The inference container on algo-1 exited with code \d+ before the job finished\./);
  }, 120_000);

  it('stops a job at its maximum runtime', async () => {
    const { result } = await runJob({ imageUri: NETCHECK_IMAGE, input: tempDataFolder({ 'slow.csv': 'gateway:9\n'.repeat(30) }), maxRuntimeInSeconds: 3 });
    expect(result).toMatchObject({
      succeeded: false,
      statusCode: 'MAX_RUNTIME_EXCEEDED',
      message: 'The inference job ran longer than its maximum runtime of 3 seconds.',
    });
  }, 120_000);

  it("without the firewall rule (CRML_INFERENCE_ALLOW_HOST_REACHABLE accepting that) the host's services are reachable from the job's network: the rule is what closes them", async () => {
    const listener = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    const port = (listener.address() as { port: number }).port;
    const open: HostFirewall = { isolate: async () => 'switched off by the test', release: async () => undefined };
    try {
      const input = tempDataFolder({ 'checks.csv': `gateway:${port}\n` });
      const without = await runJob({ imageUri: NETCHECK_IMAGE, input, firewall: open, allowHostReachable: true });
      expect(readFileSync(join(without.jobDir, 'output', 'checks.csv.out'), 'utf8')).toBe('open\n');
      expect(without.lines.map((l) => l.text)).toContain(
        "[cleanrooms-ml-local] the job's network could not be closed to this machine's services (switched off by the test); the containers may reach them at the network's gateway (CRML_INFERENCE_ALLOW_HOST_REACHABLE accepts that).",
      );
      const withRule = await runJob({ imageUri: NETCHECK_IMAGE, input });
      expect(readFileSync(join(withRule.jobDir, 'output', 'checks.csv.out'), 'utf8')).toBe('closed\n');
    } finally {
      listener.close();
    }
  }, 120_000);
});
