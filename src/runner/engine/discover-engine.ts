import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { DockerodeEngine } from './dockerode-engine.js';

/**
 * How the engine is found: a list of strategies, each saying whether it applies (DOCKER_HOST, the
 * default Docker socket, Podman's rootful socket). The first that applies and answers wins.
 */
interface EngineStrategy {
  name: string;
  applies(): boolean;
  create(): DockerodeEngine;
}

export class EngineNotFoundError extends Error {
  override readonly name = 'EngineNotFoundError';
}

function fromDockerHost(dockerHost: string): DockerodeEngine {
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') {
    return new DockerodeEngine(new Docker({ socketPath: url.pathname }), { endpoint: dockerHost, sharesHostFilesystem: true });
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    return new DockerodeEngine(
      new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' }),
      { endpoint: dockerHost, sharesHostFilesystem: local },
    );
  }
  if (url.protocol === 'ssh:') {
    return new DockerodeEngine(
      new Docker({ protocol: 'ssh', host: url.hostname, port: Number(url.port || 22), username: url.username || undefined } as Docker.DockerOptions),
      { endpoint: dockerHost, sharesHostFilesystem: false },
    );
  }
  throw new EngineNotFoundError(`DOCKER_HOST=${dockerHost}: unsupported scheme ${url.protocol} (use unix://, tcp:// or ssh://)`);
}

export function engineStrategies(env: { DOCKER_HOST?: string }): EngineStrategy[] {
  const socket = (path: string, name: string): EngineStrategy => ({
    name,
    applies: () => existsSync(path),
    create: () => new DockerodeEngine(new Docker({ socketPath: path }), { endpoint: `unix://${path}`, sharesHostFilesystem: true }),
  });
  return [
    { name: 'DOCKER_HOST', applies: () => Boolean(env.DOCKER_HOST), create: () => fromDockerHost(env.DOCKER_HOST!) },
    socket('/var/run/docker.sock', 'default Docker socket'),
    socket('/run/podman/podman.sock', 'Podman socket'),
  ];
}

/** The first engine that answers; a clear error saying what was tried otherwise. */
export async function discoverEngine(env: { DOCKER_HOST?: string } = {}): Promise<DockerodeEngine> {
  const tried: string[] = [];
  for (const s of engineStrategies(env)) {
    if (!s.applies()) continue;
    const engine = s.create();
    try {
      await engine.ping();
      return engine;
    } catch (e) {
      tried.push(`${s.name} (${engine.endpoint}): ${(e as Error).message}`);
      // DOCKER_HOST is an explicit choice: do not fall back to another engine behind the user's back.
      if (s.name === 'DOCKER_HOST') break;
    }
  }
  throw new EngineNotFoundError(
    `No container engine answers${tried.length ? `: ${tried.join('; ')}` : ' (no DOCKER_HOST, no /var/run/docker.sock)'}. ` +
      'Start Docker (or run `bash scripts/ensure-engine.sh` as root on Debian/Ubuntu), or set DOCKER_HOST.',
  );
}
