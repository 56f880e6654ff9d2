import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RegistryAuth } from '../container-engine.js';
import type { RegistryAuthProvider } from '../image-resolver.js';
import type { CredentialHelperOptions } from './credential-helper.js';
import { DockerConfigAuthProvider } from './docker-config-auth-provider.js';
import { EcrAuthProvider, type EcrAuthProviderOptions } from './ecr-auth-provider.js';
import { ExplicitAuthProvider, type ExplicitCredentials } from './explicit-auth-provider.js';
import { EcrAuthError } from './registry-auth-errors.js';

export { encodeRegistryAuth } from '../docker-engine.js';
export { EcrAuthProvider, type EcrAuthProviderOptions, type EcrClientConfig, type EcrClientFactory, type EcrClientLike } from './ecr-auth-provider.js';
export { DockerConfigAuthProvider, type DockerConfigAuthProviderOptions } from './docker-config-auth-provider.js';
export { ExplicitAuthProvider, type ExplicitCredentials } from './explicit-auth-provider.js';
export { getFromCredentialHelper, type CredentialHelperOptions, type HelperCredentials } from './credential-helper.js';
export { parseEcrRegistryHost, type EcrRegistry } from './ecr-registry.js';
export { registryHostKey, credentialServerUrl, DOCKER_HUB_SERVER_URL } from './registry-host.js';
export { REGISTRY_AUTH_REDACT_PATHS } from './redact.js';
export {
  RegistryAuthError,
  EcrAuthError,
  DockerConfigError,
  CredentialHelperError,
  type EcrAuthFailure,
  type CredentialHelperFailure,
} from './registry-auth-errors.js';

export interface RegistryAuthProviderOptions {
  /** Credentials per registry host, used before anything else. */
  explicit?: ExplicitCredentials;
  /** Docker's config.json; none: the Docker config is not consulted. See dockerConfigPathFromEnv. */
  dockerConfigPath?: string;
  credentialHelper?: CredentialHelperOptions;
  /** ECR options; false: ECR hosts get no token from the AWS SDK (only explicit or Docker config credentials). */
  ecr?: Omit<EcrAuthProviderOptions, 'logger'> | false;
  logger: Logger;
}

/**
 * Credentials for a registry host: explicit ones, else an ECR token for an ECR registry, else the Docker config's,
 * else none (an anonymous pull). An ECR registry with no AWS credentials falls back to the Docker config (a
 * `docker login` to ECR, or the ECR credential helper); when that has nothing either, the ECR error stands.
 */
export function createRegistryAuthProvider(opts: RegistryAuthProviderOptions): RegistryAuthProvider {
  const explicit = new ExplicitAuthProvider(opts.explicit ?? {});
  const ecr = opts.ecr === false ? undefined : new EcrAuthProvider({ ...opts.ecr, logger: opts.logger });
  const dockerConfig =
    opts.dockerConfigPath === undefined
      ? undefined
      : new DockerConfigAuthProvider({ configPath: opts.dockerConfigPath, logger: opts.logger, credentialHelper: opts.credentialHelper });

  return {
    async getAuth(registryHost: string): Promise<RegistryAuth | undefined> {
      const given = await explicit.getAuth(registryHost);
      if (given) return given;
      if (ecr?.registryOf(registryHost)) {
        try {
          return await ecr.getAuth(registryHost);
        } catch (e) {
          if (!(e instanceof EcrAuthError && e.reason === 'no-credentials')) throw e;
          const fromConfig = await dockerConfig?.getAuth(registryHost);
          if (fromConfig) return fromConfig;
          throw e;
        }
      }
      return dockerConfig?.getAuth(registryHost);
    },
  };
}

/** The Docker config file as the docker CLI finds it: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. For the edge. */
export function dockerConfigPathFromEnv(env: NodeJS.ProcessEnv): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}
