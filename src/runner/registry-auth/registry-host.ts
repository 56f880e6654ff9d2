/**
 * Registry hosts as Docker's config files write them: `127.0.0.1:5000`, `https://ghcr.io`, `https://index.docker.io/v1/`.
 * Keys are compared by host[:port] alone (scheme and path dropped, lowercased), and Docker Hub's several names
 * are one registry whose credentials Docker stores under its legacy URL.
 */
export const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function registryHostKey(hostOrUrl: string): string {
  let s = hostOrUrl.trim().toLowerCase();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  return DOCKER_HUB_HOSTS.has(s) ? 'docker.io' : s;
}

/** What a credential helper is asked for: the Hub's legacy URL, otherwise the host as given. */
export function credentialServerUrl(registryHost: string): string {
  return registryHostKey(registryHost) === 'docker.io' ? DOCKER_HUB_SERVER_URL : registryHost;
}
