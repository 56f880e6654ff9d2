import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ARTIFACT_FOLDERS } from '../runner/artifact-names.js';

/**
 * A stand-in for the Engine API on a unix socket, for a resident worker's rehearsal only (bundle-entry.ts): it
 * answers the calls of a no-op `crml train` (an image and its skeleton image, a container that exits 0 at once,
 * with no output and its artifact folders untouched), so that the rehearsal goes through the whole run
 * (dockerode's requests and answers, the runner's supervision and packaging, the manifest, the store's updates,
 * the summary) and the real
 * command finds all of that compiled and warm. Nothing here is ever a user's engine: it lives in the rehearsal's
 * scratch folder for the length of the rehearsal. A call it does not know gets a 404, which ends the rehearsal
 * there, as a missing engine did before.
 */
export async function rehearsalEngine(socketPath: string): Promise<{ close: () => Promise<void> }> {
  const base = `sha256:${'1'.repeat(64)}`;
  const skeleton = `sha256:${'2'.repeat(64)}`;
  const layer = `sha256:${'3'.repeat(64)}`;
  const mtime = '2026-01-01T00:00:00Z';
  const image = (id: string, tags: string[], layers: string[], labels: Record<string, string>) => ({
    Id: id, RepoTags: tags, RepoDigests: [], Os: 'linux', Architecture: 'amd64', RootFS: { Type: 'layers', Layers: layers }, Config: { Labels: labels },
  });
  const container = {
    Id: '4'.repeat(64),
    State: { Status: 'exited', Running: false, ExitCode: 0, OOMKilled: false },
    SizeRw: 0,
    Config: { Labels: {} },
  };

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? '/', 'http://engine');
    const path = pathname.replace(/^\/v[\d.]+/, '');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': '1.41' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    req.resume();
    if (path === '/_ping') return json(200, 'OK');
    if (req.method === 'GET' && path.startsWith('/images/crml-skeleton:')) {
      return json(200, image(skeleton, [], [layer, layer], {
        'crml.skeleton-of': base, 'crml.skeleton-version': '3',
        'crml.skeleton-empty': JSON.stringify(Object.fromEntries(ARTIFACT_FOLDERS.map((f) => [f, mtime]))),
      }));
    }
    if (req.method === 'GET' && path.startsWith('/images/')) return json(200, image(base, [decodeURIComponent(path.slice(8, -5))], [layer], {}));
    if (req.method === 'GET' && path === '/containers/json') return json(200, []);
    if (req.method === 'POST' && path === '/containers/create') return json(201, { Id: container.Id, Warnings: [] });
    if (req.method === 'POST' && path.endsWith('/start')) return json(204, undefined);
    // The output stream: the container printed nothing, and it has ended.
    if (req.method === 'POST' && path.endsWith('/attach')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
      return res.end();
    }
    // The artifact folders' stat: their times as in the skeleton image (the job wrote nothing).
    if (req.method === 'HEAD' && path.endsWith('/archive')) {
      const stat = { name: 'model', size: 4096, mode: 2147484141, mtime, linkTarget: '' };
      res.writeHead(200, { 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64') });
      return res.end();
    }
    if (req.method === 'GET' && path.endsWith('/json')) return json(200, container);
    if (req.method === 'DELETE' && path.startsWith('/containers/')) return json(204, undefined);
    return json(404, { message: `the rehearsal engine has no ${req.method} ${path}` });
  };

  const server: Server = createServer(answer);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
