/**
 * pino redact paths for anything that could carry a registry secret. The providers never log one; these paths
 * also cover a caller that logs an auth object or request headers. The edge may add them to its root logger.
 */
export const REGISTRY_AUTH_REDACT_PATHS: string[] = [
  'password',
  '*.password',
  'auth.password',
  'secret',
  '*.secret',
  'Secret',
  '*.Secret',
  'authorizationToken',
  '*.authorizationToken',
  '*.*.authorizationToken',
  'identitytoken',
  '*.identitytoken',
  'headers["x-registry-auth"]',
  'headers["X-Registry-Auth"]',
  '*.headers["x-registry-auth"]',
  '*.headers["X-Registry-Auth"]',
  '["X-Registry-Auth"]',
  '["x-registry-auth"]',
];

export const REDACT_CENSOR = '[redacted]';
