import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { canonicalRepository, engineReference, parseImageReference, repositoryOfRepoDigest } from '../../src/runner/image-reference.js';
import { ImagePullError, ImageResolver } from '../../src/runner/image-resolver.js';
import { createEngine } from '../../src/runner/engine-discovery.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['my-algo:dev', { repository: 'my-algo', tag: 'dev' }, 'my-algo:dev', 'docker.io/library/my-algo'],
    ['crml-examples/probe', { repository: 'crml-examples/probe' }, 'crml-examples/probe:latest', 'docker.io/crml-examples/probe'],
    ['127.0.0.1:5000/team/algo:v1', { registry: '127.0.0.1:5000', repository: 'team/algo', tag: 'v1' }, '127.0.0.1:5000/team/algo:v1', '127.0.0.1:5000/team/algo'],
    [`123456789012.dkr.ecr.us-east-1.amazonaws.com/algo@${D}`, { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'algo', digest: D }, `123456789012.dkr.ecr.us-east-1.amazonaws.com/algo@${D}`, '123456789012.dkr.ecr.us-east-1.amazonaws.com/algo'],
    ['localhost/algo:1.0', { registry: 'localhost', repository: 'algo', tag: '1.0' }, 'localhost/algo:1.0', 'localhost/algo'],
    ['docker.io/algo', { registry: 'docker.io', repository: 'algo' }, 'docker.io/algo:latest', 'docker.io/library/algo'],
  ])('%s', (uri, parsed, engine, canonical) => {
    const ref = parseImageReference(uri);
    expect(ref).toEqual({ registry: undefined, tag: undefined, digest: undefined, ...parsed });
    expect(engineReference(ref)).toBe(engine);
    expect(canonicalRepository(ref)).toBe(canonical);
  });

  it.each(['', 'UPPER/case', 'algo@sha256:short', 'algo:', 'a//b', 'algo:bad tag', 'host:5000/'])('refuses %j', (uri) => {
    expect(() => parseImageReference(uri)).toThrow(/is not a valid image reference/);
  });

  it('reads the repository of a RepoDigests entry', () => {
    expect(repositoryOfRepoDigest(`127.0.0.1:5000/team/algo@${D}`)).toBe('127.0.0.1:5000/team/algo');
    expect(repositoryOfRepoDigest(`algo@${D}`)).toBe('docker.io/library/algo');
    expect(repositoryOfRepoDigest('nonsense')).toBeUndefined();
  });
});

describe('ImageResolver on the real engine', () => {
  const engine = createEngine('unix:///var/run/docker.sock');
  const resolver = (pullPolicy: 'missing' | 'always' | 'never') => new ImageResolver({ engine, pullPolicy, logger: pino({ level: 'silent' }) });

  it('gives a local-only image its image id as digest, without pulling', async () => {
    const r = await resolver('missing').resolve('crml-examples/probe:latest');
    expect(r.pulled).toBe(false);
    expect(r.digest).toBe(r.imageId);
    expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('fails with the engine words when a pull is refused, and never pulls under policy never', async () => {
    await expect(resolver('always').resolve('127.0.0.1:9/nothing:v1')).rejects.toThrow(/^Could not pull 127\.0\.0\.1:9\/nothing:v1: .*127\.0\.0\.1:9.*refused/);
    await expect(resolver('never').resolve('crml-test/absent:v1')).rejects.toBeInstanceOf(ImagePullError);
    await expect(resolver('missing').resolve('Bad Ref')).rejects.toThrow("'Bad Ref' is not a valid image reference");
  });
});
