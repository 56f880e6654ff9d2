import { describe, expect, it } from 'vitest';
import { createEngine, discoverEngine, engineStrategies, EngineNotFoundError } from '../../src/runner/engine-discovery.js';
import { encodeRegistryAuth } from '../../src/runner/docker-engine.js';

describe('engine discovery', () => {
  it('finds the local engine through DOCKER_HOST or the default socket', async () => {
    await expect(discoverEngine({ DOCKER_HOST: 'unix:///var/run/docker.sock' })).resolves.toMatchObject({ endpoint: 'unix:///var/run/docker.sock', sharesHostFilesystem: true });
    await expect(discoverEngine({})).resolves.toMatchObject({ endpoint: 'unix:///var/run/docker.sock' });
  });

  it('says which strategies apply, and never falls back from an explicit DOCKER_HOST', async () => {
    expect(engineStrategies({}).map((s) => [s.name, s.applies()])).toContainEqual(['DOCKER_HOST', false]);
    await expect(discoverEngine({ DOCKER_HOST: 'tcp://127.0.0.1:9' })).rejects.toThrow(/^No container engine answers: DOCKER_HOST \(tcp:\/\/127\.0\.0\.1:9\)/);
    expect(() => createEngine('ftp://x')).toThrow(EngineNotFoundError);
    expect(createEngine('tcp://10.1.2.3:2375').sharesHostFilesystem).toBe(false);
  });

  it('reads every DOCKER_HOST form, and knows which engines cannot see this machine (their channels are streamed)', () => {
    expect(createEngine('unix:///var/run/docker.sock')).toMatchObject({ sharesHostFilesystem: true });
    expect(createEngine('tcp://127.0.0.1:2375')).toMatchObject({ sharesHostFilesystem: true });
    expect(createEngine('tcp://build-box:2375')).toMatchObject({ sharesHostFilesystem: false });
    expect(createEngine('ssh://me@build-box')).toMatchObject({ endpoint: 'ssh://me@build-box', sharesHostFilesystem: false });
    expect(() => createEngine('ftp://x')).toThrow(/unsupported scheme ftp: \(use unix:\/\/, tcp:\/\/, https:\/\/ or ssh:\/\/\)/);
  });

  it('encodes registry credentials as base64url with padding', () => {
    const auth = { username: 'u', password: 'p?>', serveraddress: '127.0.0.1:5000' };
    const encoded = encodeRegistryAuth(auth);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(encoded.length % 4).toBe(0);
    expect(JSON.parse(Buffer.from(encoded, 'base64url').toString())).toEqual(auth);
  });
});
