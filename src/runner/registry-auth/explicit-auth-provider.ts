import type { RegistryAuth } from '../container-engine.js';
import type { RegistryAuthProvider } from '../image-resolver.js';
import { registryHostKey } from './registry-host.js';

export type ExplicitCredentials = Record<string, { username: string; password: string }>;

/** Credentials given by the caller per registry host (`host[:port]`, or a URL of it). */
export class ExplicitAuthProvider implements RegistryAuthProvider {
  private readonly byHost: Map<string, { username: string; password: string }>;

  constructor(credentials: ExplicitCredentials) {
    this.byHost = new Map(Object.entries(credentials).map(([host, c]) => [registryHostKey(host), c]));
  }

  getAuth(registryHost: string): Promise<RegistryAuth | undefined> {
    const c = this.byHost.get(registryHostKey(registryHost));
    return Promise.resolve(c && { username: c.username, password: c.password, serveraddress: registryHost });
  }
}
