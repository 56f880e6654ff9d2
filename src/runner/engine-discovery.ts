import type Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { DockerEngine } from './docker-engine.js';
import { loadDockerode } from './dockerode-loader.js';
import type { ContainerEngine } from './container-engine.js';

/**
 * How the engine is found: a list of strategies, each saying whether it applies (DOCKER_HOST, the default
 * Docker socket, Podman's rootful socket). The first that applies and answers wins. The environment is
 * passed in by the edge (CLI, server); nothing here reads process.env.
 */
export interface EngineStrategy {
  readonly name: string;
  /** The user's explicit choice (DOCKER_HOST): when it does not answer, no other engine is tried behind their back. */
  readonly explicit?: boolean;
  applies(): boolean;
  create(): ContainerEngine;
}

export interface EngineEnvironment {
  DOCKER_HOST?: string;
  /** The ssh agent an ssh:// DOCKER_HOST authenticates with. */
  SSH_AUTH_SOCK?: string;
}

export class EngineNotFoundError extends Error {
  override readonly name = 'EngineNotFoundError';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** An engine at a DOCKER_HOST-style address: unix:///path, tcp://host:port (http), or https://host:port. */
export function createEngine(dockerHost: string, env: Pick<EngineEnvironment, 'SSH_AUTH_SOCK'> = {}): ContainerEngine {
  const { docker, sharesHostFilesystem } = dockerClient(dockerHost, env);
  return new DockerEngine(docker, { endpoint: dockerHost, sharesHostFilesystem });
}

/**
 * The dockerode client for a DOCKER_HOST-style address, and whether that engine sees this machine's folders
 * (for callers that need more of the Engine API than the ContainerEngine port: the Swarm placement).
 */
export function dockerClient(dockerHost: string, env: Pick<EngineEnvironment, 'SSH_AUTH_SOCK'> = {}): { docker: Docker; sharesHostFilesystem: boolean } {
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    throw new EngineNotFoundError(`DOCKER_HOST=${dockerHost} is not a URL (use unix:///var/run/docker.sock or tcp://host:2375)`);
  }
  const Dockerode = loadDockerode();
  if (url.protocol === 'unix:') return { docker: new Dockerode({ socketPath: url.pathname }), sharesHostFilesystem: true };
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const https = url.protocol === 'https:';
    return {
      docker: new Dockerode({ host: url.hostname, port: Number(url.port || (https ? 2376 : 2375)), protocol: https ? 'https' : 'http' }),
      // Bind mounts name this machine's folders: only an engine on this machine sees them.
      sharesHostFilesystem: LOOPBACK.has(url.hostname),
    };
  }
  if (url.protocol === 'ssh:') {
    // As the docker CLI does: the engine's socket on another machine, through ssh (keys from the ssh agent).
    // That machine cannot see this one's folders, so channels are streamed in.
    return {
      docker: new Dockerode({
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: url.username || undefined,
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      } as Docker.DockerOptions),
      sharesHostFilesystem: false,
    };
  }
  throw new EngineNotFoundError(`DOCKER_HOST=${dockerHost}: unsupported scheme ${url.protocol} (use unix://, tcp://, https:// or ssh://)`);
}

function socketStrategy(name: string, path: string): EngineStrategy {
  return { name, applies: () => existsSync(path), create: () => createEngine(`unix://${path}`) };
}

export function engineStrategies(env: EngineEnvironment): EngineStrategy[] {
  const dockerHost = env.DOCKER_HOST?.trim();
  return [
    { name: 'DOCKER_HOST', explicit: true, applies: () => Boolean(dockerHost), create: () => createEngine(dockerHost!, env) },
    socketStrategy('default Docker socket', '/var/run/docker.sock'),
    socketStrategy('Podman socket', '/run/podman/podman.sock'),
  ];
}

/** The first engine that answers; otherwise an error saying what was tried. */
export async function discoverEngine(
  env: EngineEnvironment = {},
  strategies: EngineStrategy[] = engineStrategies(env),
): Promise<ContainerEngine> {
  const tried: string[] = [];
  for (const s of strategies) {
    if (!s.applies()) continue;
    const engine = s.create();
    try {
      await engine.ping();
      return engine;
    } catch (e) {
      tried.push(`${s.name} (${engine.endpoint}): ${(e as Error).message}`);
      if (s.explicit) break;
    }
  }
  throw new EngineNotFoundError(
    `No container engine answers${tried.length ? `: ${tried.join('; ')}` : ' (no DOCKER_HOST, no /var/run/docker.sock)'}. ` +
      'Start Docker (or run `bash scripts/ensure-engine.sh` as root on Debian/Ubuntu), or set DOCKER_HOST.',
  );
}
