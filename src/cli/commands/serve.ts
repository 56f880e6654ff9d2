import { isIP } from 'node:net';
import type { CleanRoomsMLLocal } from '../../api/service.js';
import { startServer } from '../../api/http/server.js';
import { LocalDataError, resolveLocalDataRoots } from '../../channels/local-data.js';
import { UsageError } from '../errors.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** As given (flag, else environment): present but empty counts as given, so that it is refused, not ignored. */
  accessKeyId?: string;
  secretAccessKey?: string;
  localDataRoots?: string[];
  allowOrigins?: string[];
  allowHosts?: string[];
}

/**
 * `crml serve`: the REST-JSON endpoint until SIGINT/SIGTERM; runs started through it keep this process busy.
 * The service is made only once the options are known to be good: making it takes over dead processes' runs.
 */
export async function serve(
  getService: () => CleanRoomsMLLocal,
  opts: ServeOptions,
  print: (s: string) => void,
  warn: (s: string) => void,
): Promise<void> {
  const credentials = serveCredentials(opts);
  // `[::]` as a URL writes it; listen() wants the bare address.
  const host = opts.host.replace(/^\[(.*)\]$/, '$1');
  const usage = (e: unknown) => {
    if (e instanceof LocalDataError) return new UsageError(e.message);
    // A port in use, an unknown host, no permission: the user's to fix, not an internal error.
    const { syscall, code } = e as NodeJS.ErrnoException;
    if (syscall === 'listen' || syscall === 'getaddrinfo') return new UsageError(`cannot listen on ${opts.host}:${opts.port} (${code ?? (e as Error).message}).`);
    return e;
  };
  const roots = await resolveLocalDataRoots(opts.localDataRoots ?? []).catch((e: unknown) => Promise.reject(usage(e)));
  if (!credentials && !isLoopback(opts.host)) {
    warn(
      `crml serve: WARNING: listening on ${opts.host} without credentials: anyone who can reach this address can train on this machine ` +
        'and read what it stores. Give --access-key-id and --secret-access-key (or $CRML_ACCESS_KEY_ID and $CRML_SECRET_ACCESS_KEY).',
    );
  }
  const service = getService();
  const fromSettings = service.settings.server;
  const server = await startServer({
    service,
    host,
    port: opts.port,
    credentials,
    logger: service.logger,
    localDataRoots: [...fromSettings.localDataRoots, ...roots],
    allowedOrigins: [...fromSettings.allowedOrigins, ...(opts.allowOrigins ?? [])],
    allowedHosts: [...fromSettings.allowedHosts, ...(opts.allowHosts ?? [])],
  }).catch((e: unknown) => Promise.reject(usage(e)));
  print(`cleanrooms-ml-local listening on ${server.url}${credentials ? ' (SigV4 required)' : ''}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
}

/** Both or neither: one without the other would serve without any authentication, so it is a usage error. */
function serveCredentials(opts: ServeOptions): { accessKeyId: string; secretAccessKey: string } | undefined {
  const { accessKeyId, secretAccessKey } = opts;
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  const missing = [
    !accessKeyId && '--access-key-id (or $CRML_ACCESS_KEY_ID)',
    !secretAccessKey && '--secret-access-key (or $CRML_SECRET_ACCESS_KEY)',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing or empty: SigV4 needs both an access key id and its secret.`);
  }
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
