import { describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CleanRoomsMLLocal } from '../../src/api/service.js';
import { resourceIdOfArn } from '../../src/api/arns.js';
import { MEMBERSHIP, ROLE_ARN, tempService, until } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '../..');
/** Several seconds of work for one DuckDB thread, and one row of result. */
const SLOW_QUERY = 'SELECT sum(hash(range) % 1000) AS total FROM range(400000000)';

type ChannelBody = { status: string; statusDetails?: { statusCode?: string; message?: string }; numberOfRecords?: number; query?: { owner: { pid: number }; attempts: number } };

/** `crml <args>` in a child process over `dataDir`, as a user would run it (its own process group). */
function crml(dataDir: string, args: string[]): ChildProcess & { output: () => string } {
  const child = spawn('npx', ['tsx', 'src/cli/bin.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, CRML_DATA_DIR: dataDir, CRML_SQL_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** SIGKILLs a child's process group (npx, tsx, node) and waits until each is gone or a zombie. */
async function kill(child: ChildProcess) {
  process.kill(-child.pid!, 'SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  await until(() =>
    execFileSync('ps', ['-e', '-o', 'pgid=,stat='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .every(([pgid, stat]) => pgid !== String(child.pid) || stat?.startsWith('Z')),
  );
}

/** `crml create-ml-input-channel` with the slow query, killed while its query runs; returns the channel's ARN. */
async function createAndKill(setup: CleanRoomsMLLocal & { dataDir: string }) {
  const { configuredModelAlgorithmArn } = await setup.createConfiguredModelAlgorithm({
    name: 'algo',
    roleArn: ROLE_ARN,
    trainingContainerConfig: { imageUri: 'crml-examples/probe:latest' },
  });
  const { configuredModelAlgorithmAssociationArn } = await setup.createConfiguredModelAlgorithmAssociation({
    membershipIdentifier: MEMBERSHIP,
    configuredModelAlgorithmArn,
    name: 'assoc',
  });
  const child = crml(setup.dataDir, [
    'create-ml-input-channel', '--name', 'slow', '--retention-in-days', '1',
    '--configured-model-algorithm-associations', JSON.stringify([configuredModelAlgorithmAssociationArn]),
    '--input-channel', JSON.stringify({ roleArn: ROLE_ARN, dataSource: { protectedQueryInputParameters: { sqlParameters: { queryString: SLOW_QUERY }, resultFormat: 'CSV' } } }),
  ]);
  try {
    await until(() => /"mlInputChannelArn": "[^"]+"/.test(child.output()), 60_000);
    const arn = /"mlInputChannelArn": "([^"]+)"/.exec(child.output())![1]!;
    const dataDir = join(setup.dataDir, 'channels', resourceIdOfArn(arn), 'data');
    // The output folder is made just before the engine opens: give the query a moment to be under way.
    await until(() => existsSync(dataDir), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    return { arn, dataDir, child };
  } finally {
    await kill(child);
  }
}

describe('a SQL channel whose process was killed mid-query', () => {
  it('is taken over by the next service on the data folder: the query runs again, and the channel becomes ACTIVE', async () => {
    await using setup = tempService({ reconcile: false });
    const { arn, dataDir, child } = await createAndKill(setup);
    const channel = () => setup.store.get<ChannelBody>('ml-input-channel', arn)!.body;
    expect(channel().status, child.output()).toBe('CREATE_PENDING');

    const next = new CleanRoomsMLLocal({ settings: { dataDir: setup.dataDir, sqlThreads: 1 } });
    try {
      await next.reconciled;
      expect(channel().query).toMatchObject({ owner: { pid: process.pid }, attempts: 2 });
      await next.waitForChannels();
    } finally {
      await next.close();
    }
    const done = await setup.getMLInputChannel({ membershipIdentifier: MEMBERSHIP, mlInputChannelArn: arn });
    expect(done.status, done.statusDetails?.message).toBe('ACTIVE');
    expect(done.numberOfRecords).toBe(1);
    expect(readFileSync(join(dataDir, 'part-00000.csv'), 'utf8')).toMatch(/^\d+\n$/);
    expect(channel().query).toBeUndefined();
  });

  it('fails CREATE_FAILED, saying why, when the process that took it over dies too', async () => {
    await using setup = tempService({ reconcile: false });
    const { arn, dataDir, child } = await createAndKill(setup);
    const channel = () => setup.store.get<ChannelBody>('ml-input-channel', arn)!.body;
    const firstOwner = channel().query!.owner.pid;

    // `crml reconcile` takes it over and is killed in its turn, mid-query.
    const reconciler = crml(setup.dataDir, ['reconcile']);
    try {
      await until(() => channel().query?.attempts === 2 && channel().query?.owner.pid !== firstOwner, 60_000);
      await until(() => existsSync(dataDir), 60_000);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await kill(reconciler);
    }
    expect(channel().status, `${child.output()}\n${reconciler.output()}`).toBe('CREATE_PENDING');

    const next = new CleanRoomsMLLocal({ settings: { dataDir: setup.dataDir } });
    try {
      await next.reconciled;
      await next.waitForChannels();
    } finally {
      await next.close();
    }
    const failed = await setup.getMLInputChannel({ membershipIdentifier: MEMBERSHIP, mlInputChannelArn: arn });
    expect(failed.status).toBe('CREATE_FAILED');
    expect(failed.statusDetails).toEqual({
      statusCode: 'INTERNAL_ERROR',
      message:
        "The process running this channel's query ended unexpectedly 2 times, so it was not run again " +
        '(a query that needs more memory than the host has can be what ends it: see CRML_SQL_MEMORY_LIMIT).',
    });
    expect(existsSync(dataDir)).toBe(false); // what the killed processes wrote is gone
  });
});
