import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MEMBERSHIP, tempDataFolder, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import type { ContainerEngine } from '../../src/runner/container-engine.js';
import { createEngine, discoverEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import type { HostCapacity } from '../../src/runner/resource-limits.js';
import type { CreateTrainedModelRequest } from '../../src/api/generated/types.js';

// The e2e core on Podman's Docker-compatible API (Debian's podman 4.3), brought up by scripts/podman-engine.sh in
// namespaces and folders of its own: the same runs must end the same way as on Docker (infra.md lists the differences).

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/podman-engine.sh');
const LR_DATA = join(ROOT, 'examples/algorithms/linear-regression/data/train');
const IMAGES = ['crml-examples/probe:latest', 'crml-examples/linear-regression:latest'];
const PODMAN_DIR = join(tmpdir(), `crml-podman-test-${process.pid}`);
const env = { ...process.env, CRML_PODMAN_DIR: PODMAN_DIR };

// Podman is installed (through scripts/apt-install.sh) when it is missing; only a machine where that cannot be done
// (not root, no apt) skips, and says why.
const root = process.getuid?.() === 0;
const install = root ? spawnSync('bash', [join(ROOT, 'scripts/apt-install.sh'), 'podman'], { encoding: 'utf8' }) : undefined;
const unavailable = !root
  ? 'needs root (network and mount namespaces, rootful podman)'
  : install?.status !== 0
    ? `podman cannot be installed: ${install?.stderr.trim()}`
    : undefined;
if (unavailable) console.warn(`podman-engine.test.ts skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('the e2e core on Podman (its Docker-compatible API socket)', () => {
  let dockerHost = '';
  let engine: ContainerEngine;
  const upStarted = Date.now();

  beforeAll(() => {
    const out = execFileSync('bash', [SCRIPT, 'up', ...IMAGES], { env, encoding: 'utf8', timeout: 280_000 });
    dockerHost = /^DOCKER_HOST=(\S+)$/m.exec(out)![1]!;
    console.info(`podman up with ${IMAGES.length} images in ${((Date.now() - upStarted) / 1000).toFixed(1)} s`);
  });

  afterAll(() => {
    const started = Date.now();
    execFileSync('bash', [SCRIPT, 'down'], { env, encoding: 'utf8', timeout: 120_000 });
    console.info(`podman down in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(existsSync(PODMAN_DIR)).toBe(false);
  });

  /** A service whose runner trains on Podman, found through the engine discovery from DOCKER_HOST. */
  async function podmanService(opts: { host?: HostCapacity; stopGracePeriodMs?: number } = {}) {
    engine = await discoverEngine({ DOCKER_HOST: dockerHost });
    const service: CleanRoomsMLLocal & AsyncDisposable & { dataDir: string } = tempService({
      settings: { stopGracePeriodMs: opts.stopGracePeriodMs ?? 2000 },
      runner: async () => new DockerTrainingRunner({ engine, settings: service.settings, logger: pino({ level: 'silent' }), host: opts.host }),
    });
    return service;
  }

  async function train(service: CleanRoomsMLLocal, input: Partial<CreateTrainedModelRequest> & { imageUri?: string; dataDir?: string; metricDefinitions?: { name: string; regex: string }[]; entrypoint?: string[] }) {
    const { imageUri, dataDir, metricDefinitions, entrypoint, ...create } = input;
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, { imageUri, dataDir, metricDefinitions, entrypoint });
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: 'on-podman',
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
      ...create,
    });
    const model = await waitForStatus(service, trainedModelArn, undefined, 180_000);
    // Every run leaves nothing on the engine.
    expect(await engine.listContainers(`crml.trained-model=${trainedModelArn}`)).toEqual([]);
    return { trainedModelArn, model };
  }

  const artifact = (service: { dataDir: string }, arn: string, name: string) => join(service.dataDir, 'artifacts', arn.split('/').pop()!, 'base', name);
  const member = (tarball: string, name: string) => execFileSync('tar', ['-xzOf', tarball, name], { encoding: 'utf8' });

  it('runs the probe to ACTIVE with its logs, metrics, model.tar.gz, and the limits and hardening applied', async () => {
    await using service = await podmanService();
    const { trainedModelArn, model } = await train(service, {
      metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+)' }],
      hyperparameters: { print_text: 'loss=0.5\\nloss=0.25', print_stderr_lines: '2' },
    });
    expect(model.status).toBe('ACTIVE');
    expect(model.trainingContainerImageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // An image that was never pushed reports its image id, as on Docker (Podman's `localhost/` name changes nothing).
    expect(model.trainingContainerImageDigest).toBe((await engine.inspectImage('crml-examples/probe:latest'))!.id);
    const lines = service.store.readLogLines(trainedModelArn, '').map((l) => `${l.stream}:${l.text}`);
    expect(lines).toEqual(expect.arrayContaining(['stdout:loss=0.5', 'stdout:loss=0.25', 'stderr:stderr line 1', 'stderr:stderr line 2']));
    expect(service.store.readMetricPoints(trainedModelArn, '').map((p) => p.value)).toEqual([0.5, 0.25]);

    const tarball = artifact(service, trainedModelArn, 'model.tar.gz');
    expect(execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').sort()).toEqual(['', 'model.txt', 'partial.txt']);
    expect(member(tarball, 'model.txt').trim()).toBe('probe model');

    const output = artifact(service, trainedModelArn, 'output.tar.gz');
    // Folders end in `/` in the archive although Podman's own archive names them without it.
    expect(execFileSync('tar', ['-tzf', output], { encoding: 'utf8' }).split('\n')).toContain('config/');
    const limits = member(output, 'limits.txt');
    const applied = service.store.get<{ run?: { limits?: { memoryBytes: number; vcpus: number } } }>('trained-model', trainedModelArn)!.body.run!.limits!;
    expect(limits).toMatch(new RegExp(`^memory_limit_bytes=${applied.memoryBytes}$`, 'm'));
    expect(limits).toMatch(/^swap_limit_bytes=0$/m);
    expect(limits).toMatch(new RegExp(`^cpus=${applied.vcpus.toFixed(2)}$`, 'm'));
    expect(limits).toMatch(new RegExp(`^pids_max=${service.settings.hardening.pidsLimit}$`, 'm'));
    expect(member(output, 'network.txt')).toMatch(/^interfaces=lo$/m);
    const caps = member(output, 'capabilities.txt');
    expect(caps).toMatch(/^CapEff:\s+0{16}$/m);
    expect(caps).toMatch(/^NoNewPrivs:\s+1$/m);
  });

  it('ends a failing run CREATE_FAILED with ALGORITHM_ERROR and the failure file as its message', async () => {
    await using service = await podmanService();
    const { model } = await train(service, { hyperparameters: { exit_code: '2', failure_text: 'label column missing in train.csv' } });
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails).toEqual({ statusCode: 'ALGORITHM_ERROR', message: 'label column missing in train.csv' });
  });

  it('ends a run killed for memory OUT_OF_MEMORY, although Podman reports OOMKilled=false', async () => {
    await using service = await podmanService({ host: { cpus: 2, memoryBytes: 128 * 1024 ** 2, gpus: 0 } });
    const { model } = await train(service, { hyperparameters: { allocate_mb: '400' } });
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('OUT_OF_MEMORY');
    expect(model.statusDetails?.message).toContain('ran out of memory');
  });

  it('stops a run at maxRuntimeInSeconds: MAX_RUNTIME_EXCEEDED, its partial model kept', async () => {
    await using service = await podmanService();
    const { trainedModelArn, model } = await train(service, {
      hyperparameters: { sleep_seconds: '60', ignore_sigterm: 'true' },
      stoppingCondition: { maxRuntimeInSeconds: 3 },
    });
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('MAX_RUNTIME_EXCEEDED');
    expect(member(artifact(service, trainedModelArn, 'model.tar.gz'), 'partial.txt').trim()).toBe('probe partial model');
  });

  it('leaves a runtime error Podman reports on attach to start, as on Docker (a missing entrypoint)', async () => {
    await using service = await podmanService();
    const { model } = await train(service, { entrypoint: ['/no/such/program'] });
    expect(model.status).toBe('CREATE_FAILED');
    expect(model.statusDetails?.statusCode).toBe('INTERNAL_ERROR');
    expect(model.statusDetails?.message).toMatch(/^cleanrooms-ml-local failed to run the container: .*\/no\/such\/program/);
  });

  it('trains on 2 instances on an internal network of their own: each host resolves the other, nothing left', async () => {
    await using service = await podmanService();
    const files = { 'a.csv': '1\n', 'b.csv': '2\n' };
    const { trainedModelArn, model } = await train(service, {
      dataDir: tempDataFolder(files),
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: 2 },
      hyperparameters: { list_hosts_to_stdout: 'true', sleep_seconds: '3' },
    });
    expect(model.status).toBe('ACTIVE');
    const checks = service.store.readLogLines(trainedModelArn, '').filter((l) => l.text.startsWith('host-check ')).map((l) => l.text);
    expect(checks.sort()).toEqual([
      'host-check algo-1 algo-1=resolves',
      'host-check algo-1 algo-2=resolves',
      'host-check algo-2 algo-1=resolves',
      'host-check algo-2 algo-2=resolves',
    ]);
    const networks = execFileSync('curl', ['-s', '--unix-socket', new URL(dockerHost).pathname, 'http://d/v1.41/networks'], { encoding: 'utf8' });
    expect((JSON.parse(networks) as { Name: string }[]).map((n) => n.Name).filter((n) => n.startsWith('crml-cluster-'))).toEqual([]);
  });

  it('gets the real exit code from a wait that begins before start, on Podman as on Docker', async () => {
    for (const e of [await discoverEngine({ DOCKER_HOST: dockerHost }), createEngine('unix:///var/run/docker.sock')]) {
      const id = await e.createContainer({
        image: 'crml-examples/probe:latest', hostname: 'h', entrypoint: ['sh', '-c'], cmd: ['exit 5'], env: {},
        labels: { 'crml.test': '1' }, binds: [], networkMode: 'none', nanoCpus: 1e9, memoryBytes: 64 * 1024 ** 2,
        shmSizeBytes: 64 * 1024 ** 2, pidsLimit: 64, capDrop: ['ALL'], capAdd: [], securityOpt: ['no-new-privileges'], gpus: 0,
      });
      try {
        const exit = e.waitContainer(id);
        await e.startContainer(id);
        expect(await exit).toBe(5);
      } finally {
        await e.removeContainer(id);
      }
    }
  });

  it('trains linear-regression to ACTIVE with its metrics and model', async () => {
    await using service = await podmanService();
    const { trainedModelArn, model } = await train(service, {
      imageUri: 'crml-examples/linear-regression:latest',
      metricDefinitions: [{ name: 'train:loss', regex: 'train_loss=([0-9.eE+-]+)' }],
      dataDir: LR_DATA,
      hyperparameters: { epochs: '5' },
    });
    expect(model.status).toBe('ACTIVE');
    const losses = service.store.readMetricPoints(trainedModelArn, '').filter((p) => p.name === 'train:loss');
    expect(losses).toHaveLength(5);
    expect(losses[4]!.value).toBeLessThan(losses[0]!.value);
    expect(JSON.parse(member(artifact(service, trainedModelArn, 'model.tar.gz'), 'model.json')).feature_count).toBe(3);
  });
});
