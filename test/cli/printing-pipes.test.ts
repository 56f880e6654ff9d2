import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';

/**
 * What a user sees printing a big run through real pipes: every line reaches a slow reader, and a reader that
 * stops early (`head`) ends the command at once, quietly. The store is filled through its own API: no container.
 */
const ROOT = join(import.meta.dirname, '../..');
const LINES = 1_000_000;
const POINTS = 20_000;

let service: Awaited<ReturnType<typeof tempService>>;
let arn = '';
let work = '';

/** `crml <args>` piped into `reader` (a shell command), as a user types it: what the reader printed, crml's exit code, stderr and how long crml kept running after the reader ended. */
async function piped(args: string, reader: string) {
  const script = `
    ( npx tsx src/cli/bin.ts ${args} 2>"$W/err"; echo "$? $(date +%s%N)" > "$W/crml" ) | { ${reader} > "$W/out"; date +%s%N > "$W/reader"; }
    while [ ! -s "$W/crml" ]; do sleep 0.05; done`;
  await promisify(execFile)('bash', ['-c', script], {
    cwd: ROOT,
    env: { ...process.env, CRML_DATA_DIR: service.dataDir, W: work },
    timeout: 240_000,
  });
  const [code, crmlEnd] = readFileSync(join(work, 'crml'), 'utf8').trim().split(' ');
  const readerEnd = readFileSync(join(work, 'reader'), 'utf8').trim();
  rmSync(join(work, 'crml'));
  return {
    out: readFileSync(join(work, 'out'), 'utf8'),
    code: Number(code),
    stderr: readFileSync(join(work, 'err'), 'utf8'),
    lingeredMs: (Number(BigInt(crmlEnd!) - BigInt(readerEnd)) / 1e6),
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'crml-pipes-'));
  service = tempService({ runner: new ScriptedRunner() });
  const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
  ({ trainedModelArn: arn } = await service.createTrainedModel({
    membershipIdentifier: MEMBERSHIP,
    name: 'chatty',
    configuredModelAlgorithmAssociationArn,
    resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
    dataChannels: [{ channelName: 'train', mlInputChannelArn }],
  }));
  await waitForStatus(service, arn);
  const t0 = Date.now();
  // In chunks of 1000 lines, as the coordinator stores them.
  for (let i = 0; i < LINES; i += 1000) {
    service.store.appendLogLines(arn, '', Array.from({ length: 1000 }, (_, j) => ({ time: new Date(t0 + i + j), stream: 'stdout' as const, host: 'algo-1', text: `line ${i + j} ${'x'.repeat(40)}` })));
  }
  for (let i = 0; i < POINTS; i += 5_000) {
    service.store.appendMetricPoints(arn, '', Array.from({ length: 5_000 }, (_, j) => ({ name: 'loss', value: i + j, time: new Date(t0 + i + j), host: 'algo-1' })));
  }
}, 300_000);

afterAll(async () => {
  await service?.[Symbol.asyncDispose]();
  rmSync(work, { recursive: true, force: true });
});

describe('the CLI prints with backpressure and exits once stdout has drained', () => {
  it('`crml logs … | wc -l` counts every line, also with a slow reader', async () => {
    const fast = await piped(`logs ${arn}`, 'wc -l');
    expect(fast).toMatchObject({ code: 0, stderr: '' });
    expect(Number(fast.out.trim())).toBe(LINES);
    const slow = await piped(`logs ${arn}`, '{ sleep 2; cat; } | wc -l');
    expect(slow).toMatchObject({ code: 0, stderr: '' });
    expect(Number(slow.out.trim())).toBe(LINES);
  }, 300_000);

  it('`crml logs … | head -3` ends at once, with exit code 0 and nothing on stderr', async () => {
    const r = await piped(`logs ${arn}`, 'head -3');
    expect(r.out.split('\n').filter(Boolean)).toHaveLength(3);
    expect(r.out).toMatch(/ algo-1 stdout line 0 x+\n/);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.lingeredMs).toBeLessThan(1000);
  }, 120_000);

  it('`crml metrics` does the same, as a table and as JSON', async () => {
    const table = await piped(`metrics ${arn}`, '{ sleep 1; cat; } | wc -l');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(Number(table.out.trim())).toBe(POINTS + 1);
    const json = await piped(`metrics ${arn} --output json`, '{ sleep 1; cat; }');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.out)).toHaveLength(POINTS);
    const head = await piped(`metrics ${arn}`, 'head -2');
    expect(head).toMatchObject({ code: 0, stderr: '' });
    expect(head.lingeredMs).toBeLessThan(1000);
  }, 240_000);

  it('an API command (JSON, as the AWS CLI prints it) reaches a slow reader whole, and stops quietly for head', async () => {
    const whole = await piped(`list-trained-models`, '{ sleep 1; cat; }');
    expect(whole).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(whole.out).trainedModels[0]).toMatchObject({ trainedModelArn: arn, status: 'ACTIVE' });
    const head = await piped(`get-trained-model --trained-model-arn ${arn}`, 'head -1');
    expect(head).toMatchObject({ code: 0, stderr: '', out: '{\n' });
  }, 120_000);
});
