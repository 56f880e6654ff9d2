import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyArtifacts } from '../../src/cli/commands/artifacts.js';
import { ValidationException } from '../../src/api/generated/errors.js';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { tempDataFolder, tempService, trainingSetup, waitForStatus, MEMBERSHIP } from '../helpers/fixtures.js';
import { LABEL_INFERENCE_JOB } from '../../src/inference/inference-labels.js';
import { DockerInferenceRunner } from '../../src/inference/docker-inference-runner.js';
import type { HostFirewall } from '../../src/inference/host-firewall.js';
import { discoverEngine } from '../../src/runner/engine-discovery.js';
import pino from 'pino';
import { SqliteCapacityLedger } from '../../src/runner/capacity-ledger.js';
import { hostCapacity } from '../../src/runner/resource-limits.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import {
  buildInferenceImages,
  containersLabelled,
  csvOf,
  expectedTarget,
  featureRows,
  inputChannel,
  NETCHECK_IMAGE,
  NEVER_PING_IMAGE,
  trainedLinearRegression,
  waitForInferenceJob,
} from '../inference/inference-fixtures.js';

const run = promisify(execFile);

/** Polls an async check every 200 ms until it holds. */
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A service (the default runners) whose inference containers get 5 s to answer /ping (the default is minutes). */
function serviceWithShortStartup() {
  return tempService({ settings: { inferencePingTimeoutMs: 5000 } });
}

async function logsOf(service: CleanRoomsMLLocal, arn: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of service.inferenceJobLogs({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn })) lines.push(l.text);
  return lines;
}

describe('inference jobs on a real engine', () => {
  let service: ReturnType<typeof serviceWithShortStartup>;
  let model: { trainedModelArn: string; associationArn: string };

  beforeAll(async () => {
    await buildInferenceImages();
    service = serviceWithShortStartup();
    model = await trainedLinearRegression(service, {
      privacyConfiguration: {
        policies: {
          trainedModelInferenceJobs: {
            maxOutputSize: { unit: 'GB', value: 0.01 },
            containerLogs: [{ allowedAccountIds: ['111122223333'], filterPattern: 'invocation' }],
          },
          trainedModelExports: { maxSize: { unit: 'GB', value: 0.01 }, filesToExport: ['MODEL'] },
        },
      },
    });
  }, 300_000);
  afterAll(async () => {
    await service?.[Symbol.asyncDispose]();
  });

  const start = (channel: string, extra: Record<string, unknown> = {}) =>
    service.startTrainedModelInferenceJob({
      membershipIdentifier: MEMBERSHIP,
      name: 'predict',
      trainedModelArn: model.trainedModelArn,
      resourceConfig: { instanceType: 'ml.m5.large' },
      outputConfiguration: { members: [{ accountId: '123456789012' }], accept: 'text/csv' },
      dataSource: { mlInputChannelArn: channel },
      ...extra,
    });

  it('predicts every row of a CSV channel, in order, within tolerance of the known coefficients, with two containers sharing the records', async () => {
    const rows = featureRows(300);
    const folder = tempDataFolder({ 'a.csv': csvOf(rows.slice(0, 200)), 'more/b.csv': csvOf(rows.slice(200)) });
    const channel = await inputChannel(service, model.associationArn, folder);
    const { trainedModelInferenceJobArn: arn } = await start(channel, {
      resourceConfig: { instanceType: 'ml.m5.large', instanceCount: 2 },
      containerExecutionParameters: { maxPayloadInMB: 1 },
    });
    const job = await waitForInferenceJob(service, arn);
    expect(job.statusDetails).toBeUndefined();
    expect(job.status).toBe('ACTIVE');
    expect(job.inferenceContainerImageDigest).toMatch(/^sha256:/);
    const out = join(service.dataDir, 'inference', arn.split('/').pop()!, 'output');
    const a = readFileSync(join(out, 'a.csv.out'), 'utf8').trim().split('\n').map(Number);
    const b = readFileSync(join(out, 'more/b.csv.out'), 'utf8').trim().split('\n').map(Number);
    expect(a).toHaveLength(200);
    expect(b).toHaveLength(100);
    [...a, ...b].forEach((y, i) => expect(Math.abs(y - expectedTarget(rows[i]!))).toBeLessThan(0.15));
    // `crml artifacts <job>` copies the job's output.tar.gz, which holds each input file's answers.
    const to = tempDataFolder({});
    expect(await copyArtifacts(service, arn, { to })).toEqual([join(to, 'output.tar.gz')]);
    expect((await run('tar', ['-tzf', join(to, 'output.tar.gz')])).stdout.split('\n').filter(Boolean).sort()).toEqual(['a.csv.out', 'more/b.csv.out']);
    expect((await logsOf(service, arn)).filter((l) => l.includes('] output: '))).toEqual([
      `[cleanrooms-ml-local] output: a.csv.out (${statSync(join(out, 'a.csv.out')).size} bytes)`,
      `[cleanrooms-ml-local] output: more/b.csv.out (${statSync(join(out, 'more/b.csv.out')).size} bytes)`,
    ]);
    const listed = await service.listTrainedModelInferenceJobs({ membershipIdentifier: MEMBERSHIP, trainedModelArn: model.trainedModelArn });
    expect(listed.trainedModelInferenceJobs.map((j) => j.trainedModelInferenceJobArn)).toContain(arn);
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
  }, 120_000);

  it("waits in CREATE_PENDING while the host has no room (a lease held in the data folder's ledger), and starts once it frees", async () => {
    // Another process's run holding the whole host: the ledger every runner on this data folder shares.
    const ledger = SqliteCapacityLedger.open(join(service.dataDir, 'capacity.sqlite'));
    const host = hostCapacity();
    const lease = ledger.tryAcquire({ cpus: host.cpus, memoryBytes: host.memoryBytes }, host);
    expect(lease).toBeDefined();
    try {
      const channel = await inputChannel(service, model.associationArn, tempDataFolder({ 'x.csv': csvOf(featureRows(5)) }));
      const waiting = await start(channel);
      const cancelled = await start(channel);
      await new Promise((r) => setTimeout(r, 3000));
      for (const { trainedModelInferenceJobArn: arn } of [waiting, cancelled]) {
        expect((await service.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn })).status).toBe('CREATE_PENDING');
        expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
      }
      // A job cancelled while it waits ends INACTIVE without ever starting.
      await service.cancelTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: cancelled.trainedModelInferenceJobArn });
      expect(await waitForInferenceJob(service, cancelled.trainedModelInferenceJobArn)).toMatchObject({ status: 'INACTIVE', statusDetails: { statusCode: 'CANCELLED' } });
      ledger.release(lease!);
      const job = await waitForInferenceJob(service, waiting.trainedModelInferenceJobArn);
      expect(job.statusDetails).toBeUndefined();
      expect(job.status).toBe('ACTIVE');
      // Its own lease went with it: the host is free again for the next run.
      const after = ledger.tryAcquire({ cpus: host.cpus, memoryBytes: host.memoryBytes }, host);
      expect(after).toBeDefined();
      ledger.release(after!);
    } finally {
      if (lease) ledger.release(lease);
      ledger.close();
    }
  }, 120_000);

  it('splits a 5 MB input with maxPayloadInMB 1 into requests of at most 1 MB, between records', async () => {
    const rows = featureRows(200_000);
    const csv = csvOf(rows);
    expect(csv.length).toBeGreaterThan(5 * 1024 * 1024);
    const channel = await inputChannel(service, model.associationArn, tempDataFolder({ 'big.csv': csv }));
    const { trainedModelInferenceJobArn: arn } = await start(channel, { containerExecutionParameters: { maxPayloadInMB: 1 } });
    const job = await waitForInferenceJob(service, arn);
    expect(job.statusDetails).toBeUndefined();
    // What the server recorded of each request it received.
    const received = (await logsOf(service, arn)).flatMap((l) => {
      const m = /^invocation bytes=(\d+) records=(\d+)$/.exec(l);
      return m ? [{ bytes: Number(m[1]), records: Number(m[2]) }] : [];
    });
    expect(received.length).toBeGreaterThanOrEqual(6);
    for (const r of received) expect(r.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(received.reduce((n, r) => n + r.records, 0)).toBe(rows.length);
    expect(received.reduce((n, r) => n + r.bytes, 0)).toBe(csv.length);
    const out = readFileSync(join(service.dataDir, 'inference', arn.split('/').pop()!, 'output', 'big.csv.out'), 'utf8');
    expect(out.trim().split('\n')).toHaveLength(rows.length);
  }, 180_000);

  it('fails a job whose container never answers GET /ping, saying so, and removes its containers', async () => {
    const { trainedModelArn, associationArn } = await trainedLinearRegression(service, { inferenceImage: NEVER_PING_IMAGE });
    const channel = await inputChannel(service, associationArn, tempDataFolder({ 'x.csv': csvOf(featureRows(3)) }));
    const { trainedModelInferenceJobArn: arn } = await service.startTrainedModelInferenceJob({
      membershipIdentifier: MEMBERSHIP,
      name: 'never',
      trainedModelArn,
      resourceConfig: { instanceType: 'ml.m5.large' },
      outputConfiguration: { members: [{ accountId: '123456789012' }] },
      dataSource: { mlInputChannelArn: channel },
    });
    const job = await waitForInferenceJob(service, arn);
    expect(job.status).toBe('CREATE_FAILED');
    expect(job.statusDetails?.message).toBe(
      'The inference container on algo-1 did not answer GET /ping with 200 on port 8080 within 5 seconds (it never answered); CRML_INFERENCE_PING_TIMEOUT_SECONDS sets that time.',
    );
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
  }, 300_000);

  it('cancels a job in progress: INACTIVE, CANCELLED, and no container left', async () => {
    const { trainedModelArn, associationArn } = await trainedLinearRegression(service, { inferenceImage: NETCHECK_IMAGE });
    // Each record waits 2 s on a connection the job's firewall drops: the job is still busy when the cancel comes.
    const channel = await inputChannel(service, associationArn, tempDataFolder({ 'slow.csv': 'gateway:9\n'.repeat(30) }));
    const { trainedModelInferenceJobArn: arn } = await service.startTrainedModelInferenceJob({
      membershipIdentifier: MEMBERSHIP,
      name: 'cancel-me',
      trainedModelArn,
      resourceConfig: { instanceType: 'ml.m5.large' },
      outputConfiguration: { members: [{ accountId: '123456789012' }] },
      dataSource: { mlInputChannelArn: channel },
    });
    await waitForInferenceJob(service, arn, (s) => s === 'CREATE_IN_PROGRESS');
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toHaveLength(1);
    await service.cancelTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
    const job = await waitForInferenceJob(service, arn);
    expect(job.status).toBe('INACTIVE');
    expect(job.statusDetails?.statusCode).toBe('CANCELLED');
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
    await expect(service.cancelTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn })).rejects.toMatchObject({
      name: 'ConflictException',
    });
  }, 300_000);

  it("keeps the containers off other networks (the way out to the internet) and off this machine's services", async () => {
    // A service of this machine, listening on every address (the job network's gateway and docker0's included).
    const listener: Server = createServer((socket) => socket.destroy());
    let connections = 0;
    listener.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    const port = (listener.address() as { port: number }).port;
    // A server on Docker's default bridge: reaching it takes routing out of the job's network, as the internet would.
    const outside = (await run('docker', ['run', '-d', '--label', 'crml.test=inference', '--network', 'bridge', NETCHECK_IMAGE])).stdout.trim();
    try {
      const inspect = JSON.parse((await run('docker', ['inspect', outside])).stdout)[0];
      const outsideIp = inspect.NetworkSettings.Networks.bridge.IPAddress as string;
      const docker0 = inspect.NetworkSettings.Networks.bridge.Gateway as string;
      await until(async () => (await fetch(`http://${outsideIp}:8080/ping`).then((r) => r.status, () => 0)) === 200);
      const { trainedModelArn, associationArn } = await trainedLinearRegression(service, { inferenceImage: NETCHECK_IMAGE });
      const checks = `gateway:${port}\n${docker0}:${port}\n${outsideIp}:8080\n`;
      const channel = await inputChannel(service, associationArn, tempDataFolder({ 'checks.csv': checks }));
      const { trainedModelInferenceJobArn: arn } = await service.startTrainedModelInferenceJob({
        membershipIdentifier: MEMBERSHIP,
        name: 'netcheck',
        trainedModelArn,
        resourceConfig: { instanceType: 'ml.m5.large' },
        outputConfiguration: { members: [{ accountId: '123456789012' }] },
        dataSource: { mlInputChannelArn: channel },
      });
      const job = await waitForInferenceJob(service, arn);
      expect(job.statusDetails).toBeUndefined();
      const answers = readFileSync(join(service.dataDir, 'inference', arn.split('/').pop()!, 'output', 'checks.csv.out'), 'utf8');
      expect(answers).toBe('closed\nclosed\nclosed\n');
      expect(connections).toBe(0);
    } finally {
      listener.close();
      await run('docker', ['rm', '-f', outside]);
    }
  }, 300_000);

  it("fails a job whose network cannot be closed to this machine's services (no iptables), unless CRML_INFERENCE_ALLOW_HOST_REACHABLE accepts it", async () => {
    const why = "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)";
    const failing: HostFirewall = { isolate: async () => why, release: async () => undefined };
    // A second process's view of the same data folder, whose firewall fails as it does for a user who is not root.
    const other = (allowHostReachable: boolean) =>
      new (service.constructor as typeof CleanRoomsMLLocal)({
        settings: { ...service.settings, inferenceAllowHostReachable: allowHostReachable },
        reconcile: false,
        inferenceRunner: async () =>
          new DockerInferenceRunner({
            engine: await discoverEngine({}),
            settings: { ...service.settings, inferenceAllowHostReachable: allowHostReachable },
            logger: pino({ level: 'silent' }),
            firewall: failing,
          }),
      });
    const channel = await inputChannel(service, model.associationArn, tempDataFolder({ 'x.csv': csvOf(featureRows(3)) }));
    const strict = other(false);
    try {
      const { trainedModelInferenceJobArn: arn } = await strict.startTrainedModelInferenceJob({
        membershipIdentifier: MEMBERSHIP,
        name: 'no-firewall',
        trainedModelArn: model.trainedModelArn,
        resourceConfig: { instanceType: 'ml.m5.large' },
        outputConfiguration: { members: [{ accountId: '123456789012' }] },
        dataSource: { mlInputChannelArn: channel },
      });
      const job = await waitForInferenceJob(strict, arn);
      expect(job.status).toBe('CREATE_FAILED');
      expect(job.statusDetails).toEqual({
        statusCode: 'INTERNAL_ERROR',
        message:
          `The job's network could not be closed to this machine's services (${why}), so its containers could reach them at the network's gateway. ` +
          'Run where iptables can be used (as root), or set CRML_INFERENCE_ALLOW_HOST_REACHABLE=1 to accept that.',
      });
      expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
    } finally {
      await strict.close();
    }
    const accepting = other(true);
    try {
      const { trainedModelInferenceJobArn: arn } = await accepting.startTrainedModelInferenceJob({
        membershipIdentifier: MEMBERSHIP,
        name: 'no-firewall-accepted',
        trainedModelArn: model.trainedModelArn,
        resourceConfig: { instanceType: 'ml.m5.large' },
        outputConfiguration: { members: [{ accountId: '123456789012' }] },
        dataSource: { mlInputChannelArn: channel },
      });
      const job = await waitForInferenceJob(accepting, arn);
      expect(job.statusDetails).toBeUndefined();
      expect(job.status).toBe('ACTIVE');
      expect(await logsOf(accepting, arn)).toContain(
        `[cleanrooms-ml-local] the job's network could not be closed to this machine's services (${why}); the containers may reach them at the network's gateway (CRML_INFERENCE_ALLOW_HOST_REACHABLE accepts that).`,
      );
    } finally {
      await accepting.close();
    }
  }, 120_000);

  it("exports only the files the association allows into the receiver's folder, and refuses files over maxSize", async () => {
    await service.startTrainedModelExportJob({
      membershipIdentifier: MEMBERSHIP,
      trainedModelArn: model.trainedModelArn,
      name: 'to-partner',
      outputConfiguration: { members: [{ accountId: '111122223333' }] },
    });
    await service.waitForChannels();
    const listed = await service.listCollaborationTrainedModelExportJobs({
      collaborationIdentifier: service.settings.collaborationId,
      trainedModelArn: model.trainedModelArn,
    });
    expect(listed.collaborationTrainedModelExportJobs.map((j) => [j.name, j.status])).toEqual([['to-partner', 'ACTIVE']]);
    const folder = join(service.dataDir, 'exports', '111122223333', model.trainedModelArn.split('/').pop()!, 'to-partner');
    expect(readdirSync(folder)).toEqual(['model.tar.gz']);

    // A model of 12 MiB of random bytes, over a maxSize of 0.01 GB.
    const probe = await trainingSetup(service, {
      privacyConfiguration: { policies: { trainedModelExports: { maxSize: { unit: 'GB', value: 0.01 }, filesToExport: ['MODEL', 'OUTPUT'] } } },
    });
    const { trainedModelArn: big } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'big',
      configuredModelAlgorithmAssociationArn: probe.configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { write_mb: '12' },
      dataChannels: [{ channelName: 'train', mlInputChannelArn: probe.mlInputChannelArn }],
    });
    expect((await waitForStatus(service, big)).status).toBe('ACTIVE');
    const refused = service.startTrainedModelExportJob({
      membershipIdentifier: MEMBERSHIP,
      trainedModelArn: big,
      name: 'too-big',
      outputConfiguration: { members: [{ accountId: '111122223333' }] },
    });
    await expect(refused).rejects.toBeInstanceOf(ValidationException);
    await expect(refused).rejects.toThrow(/more than the association's privacyConfiguration\.policies\.trainedModelExports\.maxSize of 0\.01 GB \(10737418 bytes\)/);
    expect(existsSync(join(service.dataDir, 'exports', '111122223333', big.split('/').pop()!))).toBe(false);
  }, 300_000);

  it('fails the job of a process that died, saying why, and removes its containers (reconciliation)', async () => {
    const { trainedModelArn, associationArn } = await trainedLinearRegression(service, { inferenceImage: NETCHECK_IMAGE });
    const channel = await inputChannel(service, associationArn, tempDataFolder({ 'slow.csv': 'gateway:9\n'.repeat(60) }));
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../inference/reconcile-child.ts'), service.dataDir, trainedModelArn, channel], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const arn = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('exit', (code) => reject(new Error(`the child process exited with ${code} before the job started`)));
    });
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toHaveLength(1);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The next process on the same data folder takes over what the dead one left.
    await using next = Object.assign(new (service.constructor as typeof CleanRoomsMLLocal)({ settings: { dataDir: service.dataDir } }), {
      async [Symbol.asyncDispose]() {
        await next.close();
      },
    });
    await next.reconciled;
    const job = await next.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
    expect(job.status).toBe('CREATE_FAILED');
    expect(job.statusDetails?.statusCode).toBe('INTERNAL_ERROR');
    expect(job.statusDetails?.message).toMatch(/^cleanrooms-ml-local lost the inference job: the process that ran it \(pid \d+\) stopped; its requests in flight cannot be resumed\.$/);
    expect(await containersLabelled(`${LABEL_INFERENCE_JOB}=${arn}`)).toEqual([]);
  }, 300_000);

  it("fails a job on an invocation's 4xx with the container's own words, and shows other members only what containerLogs allows", async () => {
    const channel = await inputChannel(service, model.associationArn, tempDataFolder({ 'bad.csv': '1,2,3\nnot,a,number\n' }));
    const { trainedModelInferenceJobArn: arn } = await start(channel);
    const job = await waitForInferenceJob(service, arn);
    expect(job.status).toBe('CREATE_FAILED');
    expect(job.statusDetails).toEqual({
      statusCode: 'ALGORITHM_ERROR',
      message: "POST /invocations on algo-1 answered HTTP 400 for bad.csv records 1-2: line 2: not a number: 'not,a,number'",
    });

    const five = csvOf(featureRows(5));
    const ok = await start(await inputChannel(service, model.associationArn, tempDataFolder({ 'x.csv': five })));
    await waitForInferenceJob(service, ok.trainedModelInferenceJobArn);
    const read = async (asAccountId: string) => {
      const lines: string[] = [];
      for await (const l of service.inferenceJobLogs({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: ok.trainedModelInferenceJobArn, asAccountId })) lines.push(l.text);
      return lines;
    };
    expect(await read('111122223333')).toEqual([`invocation bytes=${five.length} records=5`]);
    await expect(read('444455556666')).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect((await read(service.settings.accountId)).length).toBeGreaterThan(3);
  }, 120_000);
});
