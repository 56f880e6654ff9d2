import type { ECRClientConfig, GetAuthorizationTokenCommand, GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import type { Logger } from 'pino';
import type { RegistryAuth } from '../container-engine.js';
import type { RegistryAuthProvider } from '../image-resolver.js';
import { parseEcrRegistryHost, type EcrRegistry } from './ecr-registry.js';
import { REDACT_CENSOR, REGISTRY_AUTH_REDACT_PATHS } from './redact.js';
import { EcrAuthError, type EcrAuthFailure } from './registry-auth-errors.js';
import { registryHostKey } from './registry-host.js';

/** The one call made on an ECR client; the real ECRClient satisfies it. */
export interface EcrClientLike {
  send(command: GetAuthorizationTokenCommand): Promise<GetAuthorizationTokenCommandOutput>;
}

export interface EcrClientConfig {
  region: string;
  useFipsEndpoint: boolean;
  useDualstackEndpoint: boolean;
  endpoint?: string;
  credentials?: ECRClientConfig['credentials'];
}

export type EcrClientFactory = (config: EcrClientConfig) => EcrClientLike;

export interface EcrAuthProviderOptions {
  logger: Logger;
  /** The ECR API's endpoint (a VPC endpoint, or a local one in tests); default: the region's own. */
  endpoint?: string;
  /** Default: the SDK's standard chain (environment, profiles, SSO, container and instance roles). */
  credentials?: ECRClientConfig['credentials'];
  /** Default: a real ECRClient per region. */
  clientFactory?: EcrClientFactory;
  /**
   * Registry hosts to treat as ECR although their host is not an ECR address (a pull-through proxy, a tunnel, a
   * local registry in tests), each with the account and region whose token opens it.
   */
  registries?: Record<string, { accountId: string; region: string }>;
  /** A token is fetched again this long before it expires (default 5 minutes), so no pull starts with a dying one. */
  refreshMarginMs?: number;
  now?: () => number;
}

interface CachedToken {
  auth: RegistryAuth;
  refreshAtMs: number;
}

const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;
const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'ExpiredToken',
  'MissingAuthenticationTokenException',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** The AWS SDK is loaded the first time an ECR registry is used: most runs never need it. */
let sdk: Promise<typeof import('@aws-sdk/client-ecr')> | undefined;
const loadSdk = () => (sdk ??= import('@aws-sdk/client-ecr'));

async function defaultClientFactory(config: EcrClientConfig): Promise<EcrClientLike> {
  const { ECRClient } = await loadSdk();
  return new ECRClient({
    ...config,
    // A dead network must fail a pull in seconds, not hang a run.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

/** ECR registry credentials from GetAuthorizationToken (user `AWS`, a 12-hour password), cached per registry. */
export class EcrAuthProvider implements RegistryAuthProvider {
  private readonly log: Logger;
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<RegistryAuth>>();
  private readonly clients = new Map<string, EcrClientLike>();
  private readonly mapped: Map<string, EcrRegistry>;

  constructor(private readonly opts: EcrAuthProviderOptions) {
    this.log = opts.logger.child({ component: 'ecr-auth' }, { redact: { paths: REGISTRY_AUTH_REDACT_PATHS, censor: REDACT_CENSOR } });
    this.mapped = new Map(
      Object.entries(opts.registries ?? {}).map(([host, r]) => [registryHostKey(host), { ...r, fips: false, dualStack: false }]),
    );
  }

  /** The account and region behind a registry host, when it is an ECR registry (by its address or by mapping). */
  registryOf(registryHost: string): EcrRegistry | undefined {
    return this.mapped.get(registryHostKey(registryHost)) ?? parseEcrRegistryHost(registryHost);
  }

  async getAuth(registryHost: string): Promise<RegistryAuth | undefined> {
    const registry = this.registryOf(registryHost);
    if (!registry) return undefined;
    const key = registryHostKey(registryHost);
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.refreshAtMs) {
      this.log.debug({ registry: registryHost }, 'ECR token from cache');
      return cached.auth;
    }
    // Concurrent pulls from one registry share one GetAuthorizationToken call.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetch(registryHost, key, registry).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private async client(registry: EcrRegistry): Promise<EcrClientLike> {
    // A custom endpoint is used as is: the SDK refuses FIPS or dual-stack together with one.
    const custom = this.opts.endpoint !== undefined;
    const config: EcrClientConfig = {
      region: registry.region,
      useFipsEndpoint: !custom && registry.fips,
      useDualstackEndpoint: !custom && registry.dualStack,
      endpoint: this.opts.endpoint,
      credentials: this.opts.credentials,
    };
    const key = `${config.region}|${config.useFipsEndpoint}|${config.useDualstackEndpoint}`;
    let client = this.clients.get(key);
    if (!client) {
      client = this.opts.clientFactory ? this.opts.clientFactory(config) : await defaultClientFactory(config);
      this.clients.set(key, client);
    }
    return client;
  }

  private async fetch(registryHost: string, key: string, registry: EcrRegistry): Promise<RegistryAuth> {
    let out: GetAuthorizationTokenCommandOutput;
    try {
      const { GetAuthorizationTokenCommand: Command } = await loadSdk();
      out = await (await this.client(registry)).send(new Command({}));
    } catch (e) {
      throw this.explain(e, registryHost, registry);
    }
    const data = out.authorizationData?.[0];
    const invalid = (why: string) =>
      new EcrAuthError(`ECR answered GetAuthorizationToken for registry ${registryHost} without a usable token: ${why}.`, registryHost, 'invalid-response');
    if (!data?.authorizationToken) throw invalid('authorizationData is empty');
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || colon === decoded.length - 1) throw invalid('the token is not base64 of "user:password"');
    const auth: RegistryAuth = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: registryHost };
    const margin = this.opts.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    // Without expiresAt the token is used for this pull only.
    const refreshAtMs = data.expiresAt ? data.expiresAt.getTime() - margin : 0;
    this.cache.set(key, { auth, refreshAtMs });
    this.log.info(
      { registry: registryHost, accountId: registry.accountId, region: registry.region, expiresAt: data.expiresAt?.toISOString() },
      'ECR authorization token fetched',
    );
    return auth;
  }

  private explain(e: unknown, registryHost: string, registry: EcrRegistry): EcrAuthError {
    const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
    const name = err?.name ?? '';
    const detail = err?.message ?? String(e);
    const where = this.opts.endpoint ?? `the ECR API in ${registry.region}`;
    let reason: EcrAuthFailure;
    let message: string;
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(detail)) {
      reason = 'no-credentials';
      message =
        `No AWS credentials for ECR registry ${registryHost}: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY), run 'aws sso login' for an SSO profile, or run where a container or instance role is available. (${detail})`;
    } else if (ACCESS_DENIED.has(name) || err?.$metadata?.httpStatusCode === 403) {
      reason = 'access-denied';
      message =
        `AWS refused an authorization token for ECR registry ${registryHost} (${name}: ${detail}): the credentials in use ` +
        `must be valid and unexpired and allowed ecr:GetAuthorizationToken in account ${registry.accountId}, region ${registry.region}.`;
    } else if (NETWORK_CODES.has(err?.code ?? '') || NETWORK_CODES.has(name) || name === 'TimeoutError' || /ECONNREFUSED|ENOTFOUND|timed? ?out/i.test(detail)) {
      reason = 'unreachable';
      message =
        `Could not reach ${where} for ECR registry ${registryHost} (${err?.code ?? name}: ${detail}): check the network, ` +
        `HTTPS_PROXY, or the ECR endpoint setting.`;
    } else {
      reason = 'other';
      message = `GetAuthorizationToken failed for ECR registry ${registryHost} (${name || 'Error'}: ${detail}).`;
    }
    this.log.warn({ registry: registryHost, reason, errorName: name }, 'ECR authorization token not obtained');
    return new EcrAuthError(message, registryHost, reason, { cause: e });
  }
}
