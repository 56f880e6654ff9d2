import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLocalData, resolveLocalDataFolder, resolveLocalDataRoots, walkChannelFolder } from '../../src/channels/local-data.js';
import { channelContentHash } from '../../src/channels/channel-content-hash.js';
import { channelMounts } from '../../src/channels/channel-mounts.js';

const made: string[] = [];
const servers: Server[] = [];
const folder = () => {
  const d = mkdtempSync(join(tmpdir(), 'crml-local-data-'));
  made.push(d);
  return d;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message, denied: (e as { denied?: boolean }).denied };
  }
  return undefined;
};

describe('local data folders', () => {
  it('refuse /, the system folders, a folder holding one, a link to one, and an empty path, for every caller', async () => {
    for (const p of ['/', '/proc', '/proc/self', '/sys', '/dev', '/dev/shm', '/run', '/var/run', '/var']) {
      const r = await refusal(resolveLocalDataFolder(p));
      expect(r, p).toMatchObject({ name: 'LocalDataError', denied: false });
      expect(r!.message, p).toMatch(/^Member must not (be|contain)/);
    }
    const d = folder();
    symlinkSync('/proc', join(d, 'proc-link'));
    expect((await refusal(resolveLocalDataFolder(join(d, 'proc-link'))))?.message).toContain('system folder');
    expect((await refusal(resolveLocalDataFolder('')))?.message).toBe('Member must not be empty (name a folder)');
    expect((await refusal(resolveLocalDataFolder('   ')))?.message).toBe('Member must not be empty (name a folder)');
    expect(await resolveLocalDataFolder(d)).toBe(d);
  });

  it("refuse a folder holding the engine's socket, or any unix socket, device or FIFO anywhere inside", async () => {
    const d = folder();
    mkdirSync(join(d, 'engine'));
    writeFileSync(join(d, 'data.csv'), '1\n');
    expect((await refusal(resolveLocalDataFolder(d, { engineSockets: [join(d, 'engine', 'docker.sock')] })))?.message).toBe(
      `Member must not contain the container engine's socket (${join(d, 'engine', 'docker.sock')})`,
    );
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(join(d, 'engine', 'podman.sock'), r));
    const r = await refusal(describeLocalData(d));
    expect(r?.message).toBe(`Member must hold only files, folders and links; '${join(d, 'engine', 'podman.sock')}' is a unix socket (a container could connect to it)`);
    // The hash of a run's channels walks the same way.
    await expect(channelContentHash(d)).rejects.toThrow(/unix socket/);
  });

  it('walk asynchronously, bounded: more entries than the limit is a clear error', async () => {
    const d = folder();
    for (let i = 0; i < 5; i++) writeFileSync(join(d, `f${i}.csv`), 'x');
    expect(await describeLocalData(d, { maxEntries: 5 })).toEqual({ numberOfFiles: 5, sizeInBytes: 5, resultFormat: 'CSV' });
    expect((await refusal(describeLocalData(d, { maxEntries: 4 })))?.message).toBe('Member must hold at most 4 files and folders (setting localDataMaxFiles)');
    const files: string[] = [];
    for await (const f of walkChannelFolder(d)) files.push(f.relativePath);
    expect(files.sort()).toEqual(['f0.csv', 'f1.csv', 'f2.csv', 'f3.csv', 'f4.csv']);
  });

  it('name an unreadable subfolder instead of failing (run as an unprivileged user, since root reads everything)', () => {
    const d = folder();
    chmodSync(d, 0o755);
    mkdirSync(join(d, 'secret'));
    writeFileSync(join(d, 'data.csv'), '1\n');
    chmodSync(join(d, 'secret'), 0o000);
    const script = `import { describeLocalData } from ${JSON.stringify(join(process.cwd(), 'src/channels/local-data.ts'))};
describeLocalData(${JSON.stringify(d)}).then((r) => console.log(JSON.stringify(r)), (e) => console.log(e.name + ': ' + e.message));`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: process.cwd(),
      env: { ...process.env, HOME: tmpdir() },
      ...asNobody,
    });
    expect(r.stdout.trim(), r.stderr).toBe(
      `LocalDataError: Member must be a folder whose every entry can be read; '${join(d, 'secret')}' cannot (EACCES)`,
    );
  });

  it('over HTTP: only absolute paths without .. inside a root, links followed; nothing said of folders outside', async () => {
    const root = folder();
    const outside = folder();
    mkdirSync(join(root, 'ok'));
    symlinkSync(outside, join(root, 'out-link'));
    symlinkSync(join(root, 'ok'), join(outside, 'in-link'));
    const roots = [root];
    expect(await resolveLocalDataFolder(join(root, 'ok'), { roots })).toBe(join(root, 'ok'));
    expect(await refusal(resolveLocalDataFolder(join(root, 'out-link'), { roots }))).toMatchObject({ denied: true });
    expect(await refusal(resolveLocalDataFolder(join(outside, 'in-link'), { roots }))).toMatchObject({ denied: true });
    expect(await refusal(resolveLocalDataFolder(outside, { roots }))).toMatchObject({ denied: true });
    expect(await refusal(resolveLocalDataFolder('/proc', { roots }))).toMatchObject({ denied: true });
    expect(await refusal(resolveLocalDataFolder(join(outside, 'missing'), { roots }))).toMatchObject({ denied: true });
    expect(await refusal(resolveLocalDataFolder(join(root, 'missing'), { roots }))).toMatchObject({ message: 'Member must be an existing folder' });
    expect(await refusal(resolveLocalDataFolder(`${root}/ok/../ok`, { roots }))).toMatchObject({ message: "Member must not contain '..' segments over HTTP" });
    expect(await refusal(resolveLocalDataFolder('ok', { roots }))).toMatchObject({ message: 'Member must be an absolute path over HTTP' });
    expect(await refusal(resolveLocalDataFolder(root, { roots: [] }))).toMatchObject({ denied: true, message: expect.stringContaining('--local-data-root') });
  });

  it('over HTTP: a root given as a link serves its folders by either name, and still nothing outside', async () => {
    const real = folder();
    const outside = folder();
    mkdirSync(join(real, 'ok'));
    const alias = join(folder(), 'data');
    symlinkSync(real, alias);
    symlinkSync(outside, join(real, 'out-link'));
    const roots = await resolveLocalDataRoots([alias]);
    expect(await resolveLocalDataFolder(join(alias, 'ok'), { roots })).toBe(join(real, 'ok'));
    expect(await resolveLocalDataFolder(join(real, 'ok'), { roots })).toBe(join(real, 'ok'));
    expect(await refusal(resolveLocalDataFolder(join(alias, 'out-link'), { roots }))).toMatchObject({ denied: true });
    expect(await refusal(resolveLocalDataFolder(outside, { roots }))).toMatchObject({ denied: true });
  });

  it("refuse at run time to mount a stored channel folder that holds the engine's socket or is a system folder", () => {
    const d = folder();
    const spec = (hostPath: string) => ({ channelName: 'train', hostPath, contentType: 'text/csv' as const, s3DataDistributionType: 'FullyReplicated' as const });
    expect(() => channelMounts([spec(d)], { sharesHostFilesystem: true, endpoint: `unix://${join(d, 'docker.sock')}` })).toThrow(/container engine's socket/);
    expect(() => channelMounts([spec('/run')], { sharesHostFilesystem: true, endpoint: 'unix:///var/run/docker.sock' })).toThrow(/system folder/);
  });
});
