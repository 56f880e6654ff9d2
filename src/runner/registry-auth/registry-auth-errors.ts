/**
 * Why registry credentials could not be had. The image resolver turns any of these into IMAGE_PULL_FAILED with the
 * message as is, so each message names the registry, what was wrong, and how to fix it. Messages never carry a secret.
 */
export class RegistryAuthError extends Error {
  override readonly name: string = 'RegistryAuthError';
  constructor(
    message: string,
    readonly registryHost: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type EcrAuthFailure = 'no-credentials' | 'access-denied' | 'unreachable' | 'invalid-response' | 'other';

/** GetAuthorizationToken failed, or answered something that is not a usable token. */
export class EcrAuthError extends RegistryAuthError {
  override readonly name = 'EcrAuthError';
  constructor(
    message: string,
    registryHost: string,
    readonly reason: EcrAuthFailure,
    options?: ErrorOptions,
  ) {
    super(message, registryHost, options);
  }
}

/** The Docker config file could not be read or holds an entry that cannot be used. */
export class DockerConfigError extends RegistryAuthError {
  override readonly name = 'DockerConfigError';
}

export type CredentialHelperFailure = 'not-found' | 'timeout' | 'failed' | 'invalid-output' | 'unsupported';

/** A `docker-credential-<name>` helper named by the Docker config is missing, hung, failed or answered nonsense. */
export class CredentialHelperError extends RegistryAuthError {
  override readonly name = 'CredentialHelperError';
  constructor(
    message: string,
    registryHost: string,
    readonly helper: string,
    readonly reason: CredentialHelperFailure,
    options?: ErrorOptions,
  ) {
    super(message, registryHost, options);
  }
}
