import { isIP } from 'node:net';
import type { CleanRoomsMLLocal } from '../../api/service.js';
import { startServer } from '../../api/http/server.js';
import { LocalDataError } from '../../channels/local-data.js';
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

/** `crml serve`: the REST-JSON endpoint until SIGINT/SIGTERM; runs started through it keep this process busy. */
export async function serve(service: CleanRoomsMLLocal, opts: ServeOptions, print: (s: string) => void, warn: (s: string) => void): Promise<void> {
  const credentials = serveCredentials(opts);
  if (!credentials && !isLoopback(opts.host)) {
    warn(
      `crml serve: WARNING: listening on ${opts.host} without credentials: anyone who can reach this address can train on this machine ` +
        'and read what it stores. Give --access-key-id and --secret-access-key (or $CRML_ACCESS_KEY_ID and $CRML_SECRET_ACCESS_KEY).',
    );
  }
  const fromSettings = service.settings.server;
  let server;
  try {
    server = await startServer({
      service,
      host: opts.host,
      port: opts.port,
      credentials,
      logger: service.logger,
      localDataRoots: [...fromSettings.localDataRoots, ...(opts.localDataRoots ?? [])],
      allowedOrigins: [...fromSettings.allowedOrigins, ...(opts.allowOrigins ?? [])],
      allowedHosts: [...fromSettings.allowedHosts, ...(opts.allowHosts ?? [])],
    });
  } catch (e) {
    if (e instanceof LocalDataError) throw new UsageError(e.message);
    throw e;
  }
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
