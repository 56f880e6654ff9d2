import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import tarStream from 'tar-stream';
import { encodeRegistryAuth } from '../../src/runner/docker-engine.js';
import { skeletonTag } from '../../src/runner/skeleton-images.js';

/** A real distribution registry (Debian's docker-registry) on 127.0.0.1, with htpasswd auth when asked. */
export interface StartedRegistry extends AsyncDisposable {
  /** `127.0.0.1:PORT`: the registry part of an image reference. */
  host: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForV2(host: string, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry at ${host} did not answer /v2/ within ${timeoutMs} ms: ${log()}`);
}

/** `htpasswd`: one user, or several (an ECR stand-in needs the user `AWS` besides a login of its own). */
export async function startRegistry(
  opts: { htpasswd?: { user: string; password: string } | { user: string; password: string }[] } = {},
): Promise<StartedRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'crml-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
  ];
  if (opts.htpasswd) {
    // bcrypt, the only hash the registry accepts.
    const users = Array.isArray(opts.htpasswd) ? opts.htpasswd : [opts.htpasswd];
    const entries = users.map((u) => execFileSync('htpasswd', ['-Bbn', u.user, u.password], { encoding: 'utf8' }).trim());
    writeFileSync(join(dir, 'htpasswd'), entries.join('\n') + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: crml-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, lines.join('\n') + '\n');

  const child = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 16_384) stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const killTimer = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killTimer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForV2(host, child, () => stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host, stop, [Symbol.asyncDispose]: stop };
}

interface StreamEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Digest?: string };
}

/** Reads an engine progress stream to its end, failing on any line that carries an error (push errors come as 200). */
export async function followEngineStream(docker: Docker, stream: Readable): Promise<StreamEvent[]> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = [];
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        const failed = events.find((e) => e.error || e.errorDetail);
        if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
        else if (err) reject(err);
        else resolve(events);
      },
      (e: StreamEvent) => void events.push(e),
    );
  });
}

/**
 * Pushes a local image to `registryHost/repoTag` through the engine API and returns the repository digest
 * (`sha256:…`). The extra tag made for the push is removed afterwards; the local image is left as it was.
 */
export async function pushImage(
  localImage: string,
  registryHost: string,
  repoTag: string,
  auth?: { username: string; password: string },
  docker: Docker = new Docker({ socketPath: '/var/run/docker.sock' }),
): Promise<string> {
  const colon = repoTag.lastIndexOf(':');
  const repo = `${registryHost}/${colon > 0 ? repoTag.slice(0, colon) : repoTag}`;
  const tag = colon > 0 ? repoTag.slice(colon + 1) : 'latest';
  await docker.getImage(localImage).tag({ repo, tag });
  try {
    const authconfig = auth ? { key: encodeRegistryAuth({ ...auth, serveraddress: registryHost }) } : undefined;
    const stream = (await docker.getImage(`${repo}:${tag}`).push({ authconfig })) as Readable;
    const events = await followEngineStream(docker, stream);
    const digest = events.map((e) => e.aux?.Digest).find(Boolean) ?? /digest: (sha256:[a-f0-9]{64})/.exec(events.map((e) => e.status ?? '').join('\n'))?.[1];
    if (!digest) throw new Error(`push of ${repo}:${tag} reported no digest`);
    return digest;
  } finally {
    await docker.getImage(`${repo}:${tag}`).remove({ noprune: true }).catch(() => undefined);
  }
}

/**
 * A one-file image built from scratch (no base image needed), labelled crml.test=1. `marker` becomes its content,
 * so distinct markers give distinct digests. Remove it with removeImage.
 */
export async function buildMarkerImage(name: string, marker: string, docker: Docker = new Docker({ socketPath: '/var/run/docker.sock' })): Promise<void> {
  const pack = tarStream.pack();
  pack.entry({ name: 'Dockerfile' }, 'FROM scratch\nCOPY marker /marker\nLABEL crml.test=1\n');
  pack.entry({ name: 'marker' }, marker);
  pack.finalize();
  const stream = (await docker.buildImage(pack as unknown as NodeJS.ReadableStream, { t: name, rm: true, forcerm: true })) as Readable;
  await followEngineStream(docker, stream);
}

/** Removes an image and every reference to it, if the engine has it. */
export async function removeImage(reference: string, docker: Docker = new Docker({ socketPath: '/var/run/docker.sock' })): Promise<void> {
  const ignoreAbsent = (e: { statusCode?: number }) => {
    if (e.statusCode !== 404) throw e;
  };
  // Its skeleton image first (a run made one): while that exists the image's layers stay, and a pull finds them.
  const id = await docker.getImage(reference).inspect().then((i) => i.Id, () => undefined);
  if (id) await docker.getImage(skeletonTag(id)).remove({ force: true }).catch(ignoreAbsent);
  await docker.getImage(reference).remove({ force: true }).catch(ignoreAbsent);
}
