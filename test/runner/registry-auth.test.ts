import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { ECRClient } from '@aws-sdk/client-ecr';
import Docker from 'dockerode';
import pino, { type Logger } from 'pino';
import { DockerEngine } from '../../src/runner/docker-engine.js';
import { ImagePullError, ImageResolver, type RegistryAuthProvider } from '../../src/runner/image-resolver.js';
import {
  CredentialHelperError,
  createRegistryAuthProvider,
  EcrAuthError,
  EcrAuthProvider,
  REGISTRY_AUTH_REDACT_PATHS,
  type EcrClientConfig,
} from '../../src/runner/registry-auth/index.js';
import { startEcrEndpoint, type StartedEcrEndpoint } from '../helpers/ecr-endpoint.js';
import { buildMarkerImage, pushImage, removeImage, startRegistry, type StartedRegistry } from '../helpers/registry.js';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const engine = new DockerEngine(docker, { endpoint: 'unix:///var/run/docker.sock', sharesHostFilesystem: true });
const USER = 'crml';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
/** The registry's password for user `AWS`, the one user ECR tokens are for. */
const ECR_PASSWORD = `ecr-${randomBytes(12).toString('hex')}`;
const ACCOUNT = '123456789012';
const REGION = 'eu-west-3';
const STATIC_CREDENTIALS = { accessKeyId: 'AKIDCRMLTEST', secretAccessKey: 'crml-test-secret' };

let registry: StartedRegistry;
let image: string;
let digest: string;

/** Log lines the providers and the resolver wrote, to check no secret is among them. */
function capturedLogger(): { logger: Logger; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), text: () => text };
}

function resolverWith(registryAuth: RegistryAuthProvider | undefined, logger: Logger = pino({ level: 'silent' })): ImageResolver {
  return new ImageResolver({ engine, pullPolicy: 'always', registryAuth, logger });
}

function ecrProvider(endpoint: StartedEcrEndpoint, over: Partial<ConstructorParameters<typeof EcrAuthProvider>[0]> = {}): EcrAuthProvider {
  return new EcrAuthProvider({
    logger: pino({ level: 'silent' }),
    endpoint: endpoint.endpoint,
    credentials: STATIC_CREDENTIALS,
    // The local registry stands for an ECR registry of this account and region.
    registries: { [registry.host]: { accountId: ACCOUNT, region: REGION } },
    ...over,
  });
}

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: [{ user: USER, password: PASSWORD }, { user: 'AWS', password: ECR_PASSWORD }] });
  const local = `crml-test/registry-auth:${randomBytes(4).toString('hex')}`;
  await buildMarkerImage(local, randomBytes(16).toString('hex'));
  try {
    digest = await pushImage(local, registry.host, 'team/algo:v1', { username: USER, password: PASSWORD });
  } finally {
    // Only the registry has it now, so every pull below really goes to the registry.
    await removeImage(local);
  }
  image = `${registry.host}/team/algo:v1`;
});

afterEach(async () => {
  await removeImage(image);
});

afterAll(async () => {
  await removeImage(image);
  await registry?.stop();
});

describe('the local registry', () => {
  it('refuses an anonymous pull', async () => {
    const err = await resolverWith(undefined).resolve(image).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    // The engine's words when it has no credentials to offer.
    expect((err as Error).message).toMatch(/no basic auth credentials/);
  });
});

describe('ECR credentials through the real ECRClient', () => {
  it('pull a private image with the password GetAuthorizationToken hands out', async () => {
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host });
    const ecr = ecrProvider(endpoint);
    expect(await ecr.getAuth(registry.host)).toEqual({ username: 'AWS', password: ECR_PASSWORD, serveraddress: registry.host });

    const resolved = await resolverWith(ecr).resolve(image);
    expect(resolved).toMatchObject({ digest, pulled: true });
    const inspected = await docker.getImage(image).inspect();
    expect(inspected.RepoDigests).toContain(`${registry.host}/team/algo@${digest}`);
    // Signed for the registry's region, with the credentials given.
    expect(endpoint.credentialScopes()[0]).toMatch(new RegExp(`^${STATIC_CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/ecr/aws4_request$`));
  });

  it('reads the region from an ECR host and signs for it', async () => {
    const ecrHost = '210987654321.dkr.ecr.ap-south-1.amazonaws.com';
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: ecrHost });
    const ecr = new EcrAuthProvider({ logger: pino({ level: 'silent' }), endpoint: endpoint.endpoint, credentials: STATIC_CREDENTIALS });
    expect(await ecr.getAuth(ecrHost)).toEqual({ username: 'AWS', password: ECR_PASSWORD, serveraddress: ecrHost });
    expect(endpoint.credentialScopes()[0]).toMatch(/\/ap-south-1\/ecr\/aws4_request$/);
    expect(await ecr.getAuth('ghcr.io')).toBeUndefined();
    expect(endpoint.calls()).toBe(1);
  });

  it('asks the FIPS or dual-stack ECR API for FIPS or dual-stack registries', async () => {
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: 'any' });
    const seen: EcrClientConfig[] = [];
    const ecr = new EcrAuthProvider({
      logger: pino({ level: 'silent' }),
      credentials: STATIC_CREDENTIALS,
      clientFactory: (config) => {
        seen.push(config);
        // The real client, sent to the local endpoint; the config it was given is what matters here.
        return new ECRClient({ ...config, useFipsEndpoint: false, useDualstackEndpoint: false, endpoint: endpoint.endpoint });
      },
    });
    await ecr.getAuth('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com');
    await ecr.getAuth('123456789012.dkr-ecr.eu-west-3.on.aws');
    await ecr.getAuth('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn');
    expect(seen.map(({ region, useFipsEndpoint, useDualstackEndpoint }) => ({ region, useFipsEndpoint, useDualstackEndpoint }))).toEqual([
      { region: 'us-gov-west-1', useFipsEndpoint: true, useDualstackEndpoint: false },
      { region: 'eu-west-3', useFipsEndpoint: false, useDualstackEndpoint: true },
      { region: 'cn-north-1', useFipsEndpoint: false, useDualstackEndpoint: false },
    ]);
    // Where the SDK sends each of them (AWS's documented ECR API endpoints), no request made.
    const apiHost = (c: EcrClientConfig) =>
      new ECRClient(c).config.endpointProvider({ Region: c.region, UseFIPS: c.useFipsEndpoint, UseDualStack: c.useDualstackEndpoint }).url.host;
    expect(apiHost(seen[0]!)).toMatch(/(^|\.)ecr-fips\.us-gov-west-1\.amazonaws\.com$/);
    expect(apiHost(seen[1]!)).toBe('ecr.eu-west-3.api.aws');
    expect(apiHost(seen[2]!)).toMatch(/(^|\.)ecr\.cn-north-1\.amazonaws\.com\.cn$/);
  });

  it('asks for one token for two pulls', async () => {
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host });
    const resolver = resolverWith(ecrProvider(endpoint));
    await resolver.resolve(image);
    await removeImage(image);
    await resolver.resolve(image);
    expect(endpoint.calls()).toBe(1);
  });

  it('shares one call between concurrent requests', async () => {
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host });
    const ecr = ecrProvider(endpoint);
    await Promise.all([ecr.getAuth(registry.host), ecr.getAuth(registry.host), ecr.getAuth(registry.host)]);
    expect(endpoint.calls()).toBe(1);
  });

  it('asks again once the token is within five minutes of expiresAt', async () => {
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host, expiresInSeconds: 600 });
    let skewMs = 0;
    const ecr = ecrProvider(endpoint, { now: () => Date.now() + skewMs });
    const resolver = resolverWith(ecr);
    await resolver.resolve(image);
    skewMs = 290_000; // 5 min 10 s before expiry: still good
    await ecr.getAuth(registry.host);
    expect(endpoint.calls()).toBe(1);
    skewMs = 301_000; // under 5 min left: fetched again
    await removeImage(image);
    await resolver.resolve(image);
    expect(endpoint.calls()).toBe(2);
  });

  it('a wrong password ends in the registry\'s unauthorized error', async () => {
    await using endpoint = await startEcrEndpoint({ password: 'not-the-password', registryHost: registry.host });
    const err = await resolverWith(ecrProvider(endpoint)).resolve(image).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as Error).message).toBe(`Could not pull ${image}: unauthorized: authentication required`);
  });

  it('AccessDeniedException says which permission is missing', async () => {
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host, refuse: true });
    const err = await ecrProvider(endpoint).getAuth(registry.host).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrAuthError);
    expect(err).toMatchObject({ reason: 'access-denied', registryHost: registry.host });
    expect((err as Error).message).toContain(`AWS refused an authorization token for ECR registry ${registry.host} (AccessDeniedException:`);
    expect((err as Error).message).toContain(`allowed ecr:GetAuthorizationToken in account ${ACCOUNT}, region ${REGION}`);

    // A run sees it as its image pull's failure, with the same words.
    const pullErr = await resolverWith(ecrProvider(endpoint)).resolve(image).catch((e: unknown) => e);
    expect(pullErr).toBeInstanceOf(ImagePullError);
    expect((pullErr as Error).message).toContain((err as Error).message);
  });

  it('an endpoint that does not answer is reported as unreachable', async () => {
    const endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host });
    await endpoint.stop();
    const err = await ecrProvider(endpoint).getAuth(registry.host).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EcrAuthError', reason: 'unreachable' });
    expect((err as Error).message).toContain(`Could not reach ${endpoint.endpoint} for ECR registry ${registry.host}`);
  });

  describe('with no AWS credentials anywhere', () => {
    const saved = { ...process.env };
    let empty: string;
    beforeAll(() => {
      empty = mkdtempSync(join(tmpdir(), 'crml-no-aws-'));
      // The SDK's standard chain reads these itself; nothing on this machine may give it credentials.
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_') && k !== 'AWS_CA_BUNDLE') delete process.env[k];
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(empty, 'credentials');
      process.env.AWS_CONFIG_FILE = join(empty, 'config');
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
    });
    afterAll(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      rmSync(empty, { recursive: true, force: true });
    });

    it('says how to give some', async () => {
      await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host });
      const err = await ecrProvider(endpoint, { credentials: undefined }).getAuth(registry.host).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'EcrAuthError', reason: 'no-credentials' });
      expect((err as Error).message).toMatch(new RegExp(`^No AWS credentials for ECR registry ${registry.host}: set AWS_PROFILE`));
      expect(endpoint.calls()).toBe(0);
    });

    it('falls back to a docker login for the registry', async () => {
      await using endpoint = await startEcrEndpoint({ password: 'unused', registryHost: registry.host });
      const dir = mkdtempSync(join(tmpdir(), 'crml-docker-config-'));
      try {
        const dockerConfigPath = join(dir, 'config.json');
        writeFileSync(dockerConfigPath, JSON.stringify({ auths: { [registry.host]: { username: USER, password: PASSWORD } } }));
        const provider = createRegistryAuthProvider({
          logger: pino({ level: 'silent' }),
          dockerConfigPath,
          ecr: { endpoint: endpoint.endpoint, registries: { [registry.host]: { accountId: ACCOUNT, region: REGION } } },
        });
        expect(await resolverWith(provider).resolve(image)).toMatchObject({ digest });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('Docker config credentials', () => {
  let dir: string;
  let configPath: string;
  let helperEnv: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crml-docker-config-'));
    configPath = join(dir, 'config.json');
    // A credential helper speaking Docker's protocol: the server URL on stdin, JSON on stdout, exit 1 when unknown.
    const bin = join(dir, 'bin');
    const helper = join(bin, 'docker-credential-crmltest');
    writeFileSync(join(dir, 'expected-server'), registry.host);
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      helper,
      [
        '#!/bin/sh',
        `[ "$1" = get ] || { echo "unsupported: $1" >&2; exit 2; }`,
        'read -r server',
        `echo "$server" >> "${join(dir, 'asked')}"`,
        `if [ "$server" = "$(cat "${join(dir, 'expected-server')}")" ]; then`,
        `  printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}\\n' "$server"`,
        'else',
        '  echo "credentials not found in native keychain"; exit 1',
        'fi',
      ].join('\n') + '\n',
    );
    chmodSync(helper, 0o755);
    writeFileSync(join(bin, 'docker-credential-sleepy'), '#!/bin/sh\nexec sleep 10\n');
    chmodSync(join(bin, 'docker-credential-sleepy'), 0o755);
    helperEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function provider(config: unknown, logger: Logger = pino({ level: 'silent' }), timeoutMs?: number): RegistryAuthProvider {
    writeFileSync(configPath, JSON.stringify(config));
    rmSync(join(dir, 'asked'), { force: true });
    return createRegistryAuthProvider({ logger, dockerConfigPath: configPath, credentialHelper: { env: helperEnv, timeoutMs }, ecr: false });
  }

  it('auths: base64 user:password under a URL key pulls the private image', async () => {
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const p = provider({ auths: { [`http://${registry.host}/v2/`]: { auth } } });
    expect(await resolverWith(p).resolve(image)).toMatchObject({ digest, pulled: true });
  });

  it('auths: username and password under a host key', async () => {
    const p = provider({ auths: { [registry.host]: { username: USER, password: PASSWORD } }, currentContext: 'default' });
    expect(await p.getAuth(registry.host)).toMatchObject({ username: USER, password: PASSWORD });
    expect(await p.getAuth('127.0.0.1:1')).toBeUndefined();
    expect(await p.getAuth('docker.io')).toBeUndefined();
  });

  it('Docker Hub credentials live under https://index.docker.io/v1/', async () => {
    const auth = Buffer.from('hubuser:hubpw').toString('base64');
    const p = provider({ auths: { 'https://index.docker.io/v1/': { auth } } });
    expect(await p.getAuth('docker.io')).toEqual({ username: 'hubuser', password: 'hubpw', serveraddress: 'https://index.docker.io/v1/' });
  });

  it('credHelpers: the per-registry helper is asked with the server URL on stdin', async () => {
    const p = provider({ credHelpers: { [registry.host]: 'crmltest' }, auths: {} });
    expect(await resolverWith(p).resolve(image)).toMatchObject({ digest });
    expect(readFileSync(join(dir, 'asked'), 'utf8')).toBe(`${registry.host}\n`);
  });

  it('credsStore: the default store, and an unknown registry is anonymous', async () => {
    const p = provider({ credsStore: 'crmltest' });
    expect(await p.getAuth(registry.host)).toEqual({ username: USER, password: PASSWORD, serveraddress: registry.host });
    expect(await p.getAuth('127.0.0.1:1')).toBeUndefined();
  });

  it('a helper that is not installed is named, with the fix', async () => {
    const p = provider({ credHelpers: { [registry.host]: 'not-installed-xyz' } });
    const err = await p.getAuth(registry.host).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialHelperError);
    expect(err).toMatchObject({ reason: 'not-found', helper: 'not-installed-xyz' });
    expect((err as Error).message).toBe(
      `The Docker config uses credential helper 'not-installed-xyz' for ${registry.host}, but docker-credential-not-installed-xyz ` +
        'is not on PATH: install it, or remove it from credHelpers/credsStore in the Docker config.',
    );
  });

  it('a helper that hangs is stopped after its timeout', async () => {
    const p = provider({ credsStore: 'sleepy' }, undefined, 300);
    const started = Date.now();
    const err = await p.getAuth(registry.host).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CredentialHelperError', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('no config file means an anonymous pull', async () => {
    const p = createRegistryAuthProvider({ logger: pino({ level: 'silent' }), dockerConfigPath: join(dir, 'absent.json'), ecr: false });
    expect(await p.getAuth(registry.host)).toBeUndefined();
  });
});

describe('logs', () => {
  it('never carry a password, a token or an X-Registry-Auth header', async () => {
    const { logger, text } = capturedLogger();
    await using endpoint = await startEcrEndpoint({ password: ECR_PASSWORD, registryHost: registry.host, expiresInSeconds: 600 });
    let skewMs = 0;
    const provider = createRegistryAuthProvider({
      logger,
      explicit: { '127.0.0.2:5000': { username: 'x', password: PASSWORD } },
      ecr: {
        endpoint: endpoint.endpoint,
        credentials: STATIC_CREDENTIALS,
        registries: { [registry.host]: { accountId: ACCOUNT, region: REGION } },
        now: () => Date.now() + skewMs,
      },
    });
    const resolver = resolverWith(provider, logger);
    await resolver.resolve(image);
    skewMs = 400_000;
    await removeImage(image);
    await resolver.resolve(image);
    await provider.getAuth('127.0.0.2:5000');
    endpoint.refuse(true);
    skewMs = 800_000;
    await provider.getAuth(registry.host).catch(() => undefined);

    expect(endpoint.calls()).toBe(3);
    expect(text()).toContain('ECR authorization token fetched');
    const token = Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64');
    for (const secret of [PASSWORD, ECR_PASSWORD, token, STATIC_CREDENTIALS.secretAccessKey]) expect(text()).not.toContain(secret);
  });

  it('the redact paths hide secrets a caller logs by mistake', () => {
    const { logger, text } = capturedLogger();
    const log = logger.child({}, { redact: { paths: REGISTRY_AUTH_REDACT_PATHS, censor: '[redacted]' } });
    log.info({ auth: { username: 'AWS', password: PASSWORD } }, 'auth');
    log.info({ authorizationData: [{ authorizationToken: PASSWORD }] }, 'token');
    log.info({ req: { headers: { 'x-registry-auth': PASSWORD } } }, 'request');
    expect(text()).not.toContain(PASSWORD);
    expect(text()).toContain('[redacted]');
  });
});
