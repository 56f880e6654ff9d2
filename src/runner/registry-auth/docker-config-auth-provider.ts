import type { Logger } from 'pino';
import type { RegistryAuth } from '../container-engine.js';
import type { RegistryAuthProvider } from '../image-resolver.js';
import { getFromCredentialHelper, type CredentialHelperOptions } from './credential-helper.js';
import { readDockerConfig, type DockerConfigAuthEntry } from './docker-config.js';
import { REDACT_CENSOR, REGISTRY_AUTH_REDACT_PATHS } from './redact.js';
import { DockerConfigError } from './registry-auth-errors.js';
import { credentialServerUrl, registryHostKey } from './registry-host.js';

export interface DockerConfigAuthProviderOptions {
  /** The config file itself (`$DOCKER_CONFIG/config.json`, by default `~/.docker/config.json`), resolved at the edge. */
  configPath: string;
  logger: Logger;
  /** How `docker-credential-*` helpers are run (timeout, environment with the PATH that finds them). */
  credentialHelper?: CredentialHelperOptions;
}

/**
 * Registry credentials the way the docker CLI finds them: a per-registry helper (credHelpers), else the default
 * store (credsStore), else the file's own `auths` entry.
 */
export class DockerConfigAuthProvider implements RegistryAuthProvider {
  private readonly log: Logger;

  constructor(private readonly opts: DockerConfigAuthProviderOptions) {
    this.log = opts.logger.child({ component: 'docker-config-auth' }, { redact: { paths: REGISTRY_AUTH_REDACT_PATHS, censor: REDACT_CENSOR } });
  }

  async getAuth(registryHost: string): Promise<RegistryAuth | undefined> {
    const { configPath } = this.opts;
    const config = await readDockerConfig(configPath, registryHost);
    if (!config) return undefined;
    const key = registryHostKey(registryHost);
    const authsKey = Object.keys(config.auths ?? {}).find((k) => registryHostKey(k) === key);
    // A helper is asked with the server address `docker login` stored: the auths key when there is one.
    const serverUrl = authsKey ?? credentialServerUrl(registryHost);

    const helperEntry = Object.entries(config.credHelpers ?? {}).find(([k]) => registryHostKey(k) === key);
    const helper = helperEntry?.[1] ?? config.credsStore;
    if (helper) {
      const found = await getFromCredentialHelper(helper, serverUrl, registryHost, this.opts.credentialHelper);
      if (found) {
        this.log.debug({ registry: registryHost, helper }, 'registry credentials from a credential helper');
        return { username: found.username, password: found.secret, serveraddress: serverUrl };
      }
      // A per-registry helper is authoritative, as in the docker CLI; the default store may miss and fall through.
      if (helperEntry) return undefined;
    }

    const entry = authsKey === undefined ? undefined : config.auths?.[authsKey];
    if (!entry) return undefined;
    const auth = this.fromEntry(entry, registryHost);
    if (auth) this.log.debug({ registry: registryHost, configPath }, 'registry credentials from the Docker config');
    return auth && { ...auth, serveraddress: serverUrl };
  }

  private fromEntry(entry: DockerConfigAuthEntry, registryHost: string): Omit<RegistryAuth, 'serveraddress'> | undefined {
    const { configPath } = this.opts;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new DockerConfigError(
          `The Docker config ${configPath} has an 'auth' for ${registryHost} that is not base64 of "user:password": run docker login ${registryHost} again.`,
          registryHost,
        );
      }
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (entry.identitytoken || entry.registrytoken) {
      throw new DockerConfigError(
        `The Docker config ${configPath} holds only a token for ${registryHost}, which this runner cannot pass on: log in with a username and password.`,
        registryHost,
      );
    }
    return undefined;
  }
}
