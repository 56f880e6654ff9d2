import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import { processStartTime, SqliteCapacityLedger } from '../../src/runner/capacity-ledger.js';
import { defaultSettings } from '../../src/settings.js';
import { probeJobSpec } from '../helpers/job-spec.js';

/** Not crml.test=1: the runner tests' afterEach removes every container with that label, also of a test running beside them. */
const TEST_LABELS = { 'crml.test.runner-safety': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const GiB = 1024 ** 3;
const work = mkdtempSync(join(tmpdir(), 'crml-capacity-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Puts a lease of process `pid` into the ledger file, as that process would have. */
function leaseOf(file: string, pid: number, started: string, cpus: number): void {
  const db = new Database(file);
  db.prepare('INSERT INTO capacity_leases (id, pid, started, cpus, memory_bytes, granted_at) VALUES (?, ?, ?, ?, ?, ?)').run(`lease-${pid}`, pid, started, cpus, GiB, new Date().toISOString());
  db.close();
}

describe('the host budget shared through the data folder', () => {
  it('a lease of a live process holds the host; once that process dies its lease is reclaimed', async () => {
    const file = join(work, 'leases.sqlite');
    const ledger = SqliteCapacityLedger.open(file);
    const other = spawn('sleep', ['60']);
    await once(other, 'spawn');
    leaseOf(file, other.pid!, processStartTime(other.pid!)!, 2);
    const host = { cpus: 2, memoryBytes: 8 * GiB };
    expect(ledger.tryAcquire({ cpus: 1, memoryBytes: GiB }, host)).toBeUndefined();
    other.kill('SIGKILL');
    await once(other, 'exit');
    const lease = ledger.tryAcquire({ cpus: 2, memoryBytes: GiB }, host);
    expect(lease).toBeDefined();
    // A pid the kernel gave to another process since does not keep a lease alive either.
    ledger.release(lease!);
    leaseOf(file, process.pid, 'not-this-start-time', 2);
    expect(ledger.tryAcquire({ cpus: 2, memoryBytes: GiB }, host)).toBeDefined();
    ledger.close();
  });

  it('two runners over one data folder (separate ledgers, as two processes have) never oversubscribe the host', async () => {
    const dataDir = join(work, 'shared');
    mkdirSync(dataDir);
    const file = join(dataDir, 'capacity.sqlite');
    // The host fits one ml.m5.large at a time.
    const host = { cpus: 2, memoryBytes: 8 * GiB, gpus: 0 };
    const runner = () =>
      new DockerTrainingRunner({
        engine, host, logger: pino({ level: 'silent' }),
        settings: defaultSettings({ dataDir }),
        capacityLedger: SqliteCapacityLedger.open(file),
      });
    const runners = [runner(), runner()];
    const watcher = new Database(file, { readonly: true });
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, (watcher.prepare('SELECT count(*) AS n FROM capacity_leases').get() as { n: number }).n);
    }, 50);
    const started: Record<string, number> = {};
    const go = (name: string, r: DockerTrainingRunner) => {
      const artifactsDir = join(dataDir, name);
      mkdirSync(artifactsDir);
      const spec = probeJobSpec({
        trainedModelArn: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/${name}`,
        name, hyperparameters: { sleep_seconds: '3' }, artifactsDir, labels: TEST_LABELS,
      });
      return r.run(spec, { onStarted: () => void (started[name] = Date.now()), onLogLine: () => undefined, onMetric: () => undefined }, new AbortController().signal);
    };
    try {
      const first = go('0123456789abcd54', runners[0]!);
      await new Promise((r) => setTimeout(r, 300));
      const second = go('0123456789abcd55', runners[1]!);
      const [a, b] = await Promise.all([first, second]);
      expect(a.succeeded && b.succeeded).toBe(true);
      // The second waited (CREATE_PENDING) until the first's 3 s of training were over.
      expect(started['0123456789abcd55']! - started['0123456789abcd54']!).toBeGreaterThanOrEqual(3000);
      expect(most).toBe(1);
      expect((watcher.prepare('SELECT count(*) AS n FROM capacity_leases').get() as { n: number }).n).toBe(0);
    } finally {
      clearInterval(watch);
      watcher.close();
    }
  }, 120_000);
});
