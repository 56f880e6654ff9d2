import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the ECR API's GetAuthorizationToken (AWS JSON 1.1), handing out the password of a local
 * registry, so the real ECRClient, its signing and its error parsing all run. Only this one operation exists.
 */
export interface StartedEcrEndpoint extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for the ECRClient's `endpoint`. */
  endpoint: string;
  /** How many GetAuthorizationToken calls were answered (refused ones included). */
  calls(): number;
  /** The SigV4 credential scopes seen (`<key>/<date>/<region>/ecr/aws4_request`), to check region and signer. */
  credentialScopes(): string[];
  /** From now on refuse every call with AccessDeniedException (true) or answer again (false). */
  refuse(on: boolean): void;
  stop(): Promise<void>;
}

const TARGET = 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken';

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

export async function startEcrEndpoint(opts: {
  password: string;
  registryHost: string;
  expiresInSeconds?: number;
  refuse?: boolean;
}): Promise<StartedEcrEndpoint> {
  let calls = 0;
  let refusing = opts.refuse ?? false;
  const scopes: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      await readBody(req);
      const send = (status: number, body: unknown, errorType?: string) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        });
        res.end(JSON.stringify(body));
      };
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== TARGET) {
        send(400, { __type: 'UnknownOperationException', message: `Only ${TARGET} is served here.` }, 'UnknownOperationException');
        return;
      }
      calls += 1;
      const scope = /Credential=([^,]+)/.exec(req.headers.authorization ?? '')?.[1];
      if (scope) scopes.push(scope);
      if (refusing) {
        const message =
          'User: arn:aws:iam::123456789012:user/test is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action';
        send(400, { __type: 'AccessDeniedException', message }, 'AccessDeniedException');
        return;
      }
      const expiresAt = Math.floor(Date.now() / 1000) + (opts.expiresInSeconds ?? 12 * 3600);
      send(200, {
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:${opts.password}`).toString('base64'),
            expiresAt,
            proxyEndpoint: `https://${opts.registryHost}`,
          },
        ],
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls: () => calls,
    credentialScopes: () => [...scopes],
    refuse: (on) => void (refusing = on),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
