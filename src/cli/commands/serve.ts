import type { CleanRoomsMLLocal } from '../../api/service.js';
import { startServer } from '../../api/http/server.js';

/** `crml serve`: the REST-JSON endpoint until SIGINT/SIGTERM; runs started through it keep this process busy. */
export async function serve(
  service: CleanRoomsMLLocal,
  opts: { host: string; port: number; accessKeyId?: string; secretAccessKey?: string },
  print: (s: string) => void,
): Promise<void> {
  const credentials =
    opts.accessKeyId && opts.secretAccessKey ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } : undefined;
  const server = await startServer({ service, host: opts.host, port: opts.port, credentials, logger: service.logger });
  print(`cleanrooms-ml-local listening on ${server.url}${credentials ? ' (SigV4 required)' : ''}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
}
