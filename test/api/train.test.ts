import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MEMBERSHIP, tempDataFolder, tempService, waitForStatus } from '../helpers/fixtures.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import type { TrainProgress } from '../../src/api/train.js';

const builtTags: string[] = [];
afterAll(() => {
  // Only the images these tests built.
  for (const tag of builtTags) execFileSync('docker', ['image', 'rm', '-f', tag], { stdio: 'ignore' });
});

async function logText(service: CleanRoomsMLLocal, trainedModelArn: string): Promise<string> {
  const lines: string[] = [];
  for await (const l of service.trainedModelLogs({ membershipIdentifier: MEMBERSHIP, trainedModelArn })) lines.push(l.text);
  return lines.join('\n');
}

/** A build folder FROM scratch on the host's static busybox, printing its build context and channels. */
function busyboxFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crml-build-'));
  copyFileSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'ARG GREETING=none',
      'COPY busybox /bin/busybox',
      'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
      'COPY . /ctx/',
      'RUN echo "greeting=$GREETING" > /greeting',
      'ENTRYPOINT ["/bin/sh", "/ctx/train.sh"]',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'train.sh'), 'cat /greeting\nls -A /ctx | sed "s/^/ctx: /"\nfind /opt/ml/input/data -type f | sed "s/^/data: /"\n');
  writeFileSync(join(dir, '.dockerignore'), '# not for the image\nsecret.txt\nlogs/\n');
  writeFileSync(join(dir, 'secret.txt'), 'do not ship');
  symlinkSync('/etc/hostname', join(dir, 'host-link'));
  return dir;
}

describe('service.train (one call)', () => {
  it('trains the probe image and reuses the algorithm, association and channel on a second call', async () => {
    await using service = tempService();
    const data = tempDataFolder();
    const first = await service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: data } });
    expect(first.imageUri).toBe('crml-examples/probe:latest');
    expect((await waitForStatus(service, first.trainedModelArn)).status).toBe('ACTIVE');
    const second = await service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: data }, name: 'again' });
    expect(second.configuredModelAlgorithmArn).toBe(first.configuredModelAlgorithmArn);
    expect(second.reused.mlInputChannels).toEqual(['train']);
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms).toHaveLength(1);
    await service.waitForRuns(second.trainedModelArn);
  }, 240_000);

  it('builds a folder through the engine (its .dockerignore applied, links kept as links) and trains on a single file', async () => {
    await using service = tempService();
    const folder = busyboxFolder();
    const tag = `crml-test-train/build-${randomBytes(4).toString('hex')}:latest`;
    builtTags.push(tag);
    const data = tempDataFolder({ 'rows.csv': '1,2\n', 'other.csv': '3,4\n' });
    const progress: TrainProgress[] = [];
    const r = await service.train({
      build: { context: folder, tag, buildArgs: { GREETING: 'hello' } },
      channels: { train: join(data, 'rows.csv') },
      onProgress: (e) => progress.push(e),
    });
    await service.waitForRuns(r.trainedModelArn);
    expect(r.imageUri).toBe(tag);
    expect((await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: r.trainedModelArn })).status).toBe('ACTIVE');
    expect(progress.some((p) => p.kind === 'build' && /Step 1\/\d+ : FROM scratch/.test(p.line))).toBe(true);
    const log = await logText(service, r.trainedModelArn);
    expect(log).toContain('greeting=hello');
    expect(log).toContain('ctx: train.sh');
    expect(log).toContain('ctx: host-link');
    expect(log).not.toContain('secret.txt');
    // The file channel holds just that file.
    expect(log).toMatch(/data: \/opt\/ml\/input\/data\/train\/rows\.csv/);
    expect(log).not.toContain('other.csv');
    rmSync(folder, { recursive: true, force: true });
  }, 240_000);

  it("fails a build in the builder's words", async () => {
    await using service = tempService();
    const folder = mkdtempSync(join(tmpdir(), 'crml-build-'));
    writeFileSync(join(folder, 'Dockerfile'), 'FROM scratch\nCOPY missing-file /x\n');
    await expect(service.train({ build: { context: folder, tag: 'crml-test-train/broken:latest' }, channels: { train: tempDataFolder() } })).rejects.toThrow(
      /missing-file/,
    );
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms).toHaveLength(0);
  }, 60_000);

  it('stops a build in progress when its signal is aborted, creating nothing', async () => {
    await using service = tempService();
    const folder = busyboxFolder();
    writeFileSync(join(folder, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sleep", "60"]\n');
    const abort = new AbortController();
    const started = Date.now();
    const training = service.train({
      build: { context: folder, tag: `crml-test-train/slow-${randomBytes(4).toString('hex')}:latest` },
      channels: { train: tempDataFolder() },
      signal: abort.signal,
      onProgress: (e) => {
        if (e.kind === 'build' && e.line.includes('Running in')) abort.abort(new Error('stopped by the test'));
      },
    });
    await expect(training).rejects.toThrow('stopped by the test');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms).toHaveLength(0);
    rmSync(folder, { recursive: true, force: true });
  }, 60_000);

  it('trains on a SQL channel over the workspace, and a failing query is refused with the query engine’s message', async () => {
    await using service = tempService();
    const r = await service.train({
      imageUri: 'crml-examples/probe:latest',
      channels: { train: { sql: 'SELECT range AS x, range * 2 AS y FROM range(5)' } },
      hyperparameters: { list_channels_to_stdout: 'true' },
    });
    expect((await waitForStatus(service, r.trainedModelArn)).status).toBe('ACTIVE');
    expect(await logText(service, r.trainedModelArn)).toMatch(/channel-file algo-1 train\/\S+\.csv/);
    await expect(service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: { sql: 'SELECT * FROM no_such_table' } } })).rejects.toThrow(
      /ML input channel 'train' .* is CREATE_FAILED.*Catalog Error.*no_such_table/,
    );
  }, 240_000);

  it('puts its labels on every container and network of the run', async () => {
    await using service = tempService();
    const session = randomBytes(6).toString('hex');
    const r = await service.train({
      imageUri: 'crml-examples/probe:latest',
      channels: { train: tempDataFolder() },
      instanceCount: 2,
      hyperparameters: { sleep_seconds: '30' },
      labels: { 'test.session': session },
    });
    const filter = `label=test.session=${session}`;
    const seen = { containers: 0, networks: 0 };
    for (let i = 0; i < 100 && (seen.containers < 2 || seen.networks < 1); i++) {
      seen.containers = execFileSync('docker', ['ps', '-aq', '--filter', filter], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
      seen.networks = execFileSync('docker', ['network', 'ls', '-q', '--filter', filter], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
      await sleep(200);
    }
    expect(seen).toEqual({ containers: 2, networks: 1 });
    await service.cancelTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn: r.trainedModelArn });
    await service.waitForRuns(r.trainedModelArn);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', filter], { encoding: 'utf8' }).trim()).toBe('');
    expect(execFileSync('docker', ['network', 'ls', '-q', '--filter', filter], { encoding: 'utf8' }).trim()).toBe('');
    await expect(service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: tempDataFolder() }, labels: { 'crml.store': 'x' } })).rejects.toThrow(
      /Label keys must not .* 'crml\.'/,
    );
  }, 120_000);

  it('refuses bad values with the API’s ValidationException, worded the same, before creating anything', async () => {
    await using service = tempService();
    const data = tempDataFolder();
    let setup: Promise<{ configuredModelAlgorithmAssociationArn: string; mlInputChannelArn: string }> | undefined;
    const apiSetup = async () => {
      const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
        name: 'api',
        roleArn: 'arn:aws:iam::123456789012:role/x',
        trainingContainerConfig: { imageUri: 'crml-examples/probe:latest' },
      });
      const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
        membershipIdentifier: MEMBERSHIP,
        configuredModelAlgorithmArn,
        name: 'api',
      });
      const { mlInputChannelArn } = await service.createMLInputChannel({
        membershipIdentifier: MEMBERSHIP,
        name: 'api',
        retentionInDays: 1,
        configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
        inputChannel: { roleArn: 'arn:aws:iam::123456789012:role/x', dataSource: { localDataSource: { path: data } } },
      });
      return { configuredModelAlgorithmAssociationArn, mlInputChannelArn };
    };
    const apiMessage = async (input: Record<string, unknown>) => {
      const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await (setup ??= apiSetup());
      const e = await service
        .createTrainedModel({
          membershipIdentifier: MEMBERSHIP,
          name: 'api',
          configuredModelAlgorithmAssociationArn,
          resourceConfig: { instanceType: 'ml.m5.large', instanceCount: 1, volumeSizeInGB: 10 },
          dataChannels: [{ channelName: 'train', mlInputChannelArn }],
          ...input,
        } as Parameters<CleanRoomsMLLocal['createTrainedModel']>[0])
        .catch((err: Error) => err);
      return (e as Error).message;
    };
    const longValue = 'x'.repeat(2501);
    const viaTrain = await service
      .train({ imageUri: 'crml-examples/probe:latest', channels: { train: data }, hyperparameters: { lr: longValue } })
      .catch((e: Error) => e);
    expect((viaTrain as Error).name).toBe('ValidationException');
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms).toHaveLength(0);
    expect((viaTrain as Error).message).toBe(await apiMessage({ hyperparameters: { lr: longValue } }));

    const badType = await service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: data }, instanceType: 'ml.nope' }).catch((e: Error) => e);
    expect((badType as Error).message).toBe(await apiMessage({ resourceConfig: { instanceType: 'ml.nope', instanceCount: 1, volumeSizeInGB: 10 } }));

    await expect(service.train({ channels: { train: data } })).rejects.toThrow('Exactly one of imageUri and build must be given');
    await expect(service.train({ imageUri: 'a', build: { context: '.' }, channels: { train: data } })).rejects.toThrow('Exactly one of imageUri and build');
    await expect(service.train({ imageUri: 'crml-examples/probe:latest', channels: { train: join(data, 'nope') } })).rejects.toThrow(
      /at 'channels.train' failed to satisfy constraint: Member must be an existing folder or file/,
    );
  }, 120_000);
});
