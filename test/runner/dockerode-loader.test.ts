import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadDockerode } from '../../src/runner/dockerode-loader.js';
import { createEngine } from '../../src/runner/engine-discovery.js';

const require = createRequire(import.meta.url);
const loadedPackage = (name: string) => Object.keys(require.cache).some((p) => p.includes(`/node_modules/${name}/`));

describe('dockerode, loaded without what a run never needs', () => {
  it('talks to the engine without loading BuildKit (gRPC) or ssh2', async () => {
    const Docker = loadDockerode();
    const answer = await new Docker({ socketPath: '/var/run/docker.sock' }).ping();
    expect(String(answer)).toBe('OK');
    expect(loadedPackage('@grpc/grpc-js')).toBe(false);
    expect(loadedPackage('ssh2')).toBe(false);
  });

  it('an ssh:// engine still dials through ssh2, loaded when it is first used', async () => {
    const engine = createEngine('ssh://nobody@127.0.0.1:1');
    // Nothing listens on port 1: the failure is ssh2's connection error, so ssh2 was loaded and used.
    await expect(engine.ping()).rejects.toThrow(/ECONNREFUSED/);
    expect(loadedPackage('ssh2')).toBe(true);
  });
});
