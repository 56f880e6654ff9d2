import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { OperationName } from '../generated/model.js';
import { CleanRoomsMLServiceException, InternalServiceException } from '../generated/errors.js';
import { route } from './router.js';
import { parseRequest, serializeOutput } from './rest-json.js';
import { verifySignature, type Credentials } from './sigv4.js';
import { WireError, wireErrors } from './wire-errors.js';

/** The service as the endpoint sees it: one method per operation, named in lowerCamelCase. */
export type OperationHandlers = object;

export interface ServerOptions {
  service: OperationHandlers;
  host?: string;
  port?: number;
  /** With credentials, every request must carry a valid SigV4 signature made with them. */
  credentials?: Credentials;
  logger?: Logger;
  maxBodyBytes?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** The REST-JSON endpoint: the AWS CLI and boto3 talk to it with `--endpoint-url`. Never crashes on input. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const server = createServer((req, res) => {
    handle(req, res, opts, maxBody, logger).catch((e) => {
      logger.error({ err: e }, 'unexpected failure while answering');
      if (!res.headersSent) sendError(res, new InternalServiceException('cleanrooms-ml-local failed to answer this request.'));
      else res.destroy();
    });
  });
  // Requests the HTTP parser itself refuses (an unknown method, broken framing) still get an AWS-shaped answer.
  server.on('clientError', (_e, socket) => {
    if (socket.writable) {
      const body = JSON.stringify({ message: 'The request could not be parsed as HTTP.' });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-amzn-errortype: SerializationException\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    } else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw wireErrors.tooLarge(max);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw wireErrors.tooLarge(max);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ServerOptions, maxBody: number, logger: Logger): Promise<void> {
  const started = Date.now();
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  const method = (req.method ?? 'GET').toUpperCase();
  let operation: OperationName | undefined;
  try {
    const body = await readBody(req, maxBody);
    if (opts.credentials) verifySignature({ method, rawPath, rawQuery, headers: req.headers, body }, opts.credentials);
    const r = route(method, rawPath);
    if ('notFound' in r) throw wireErrors.unknownOperation(method, rawPath);
    if ('methodNotAllowed' in r) throw wireErrors.methodNotAllowed(method, rawPath, r.methodNotAllowed);
    operation = r.match.operation;
    let query: URLSearchParams;
    try {
      query = new URLSearchParams(rawQuery);
    } catch {
      throw wireErrors.serialization('The query string is malformed.');
    }
    const input = parseRequest(r.match, query, req.headers, body);
    const methodName = operation.charAt(0).toLowerCase() + operation.slice(1);
    const fn = (opts.service as Record<string, unknown>)[methodName];
    if (typeof fn !== 'function') throw wireErrors.unknownOperation(method, rawPath);
    const output = await (fn as (i: unknown) => Promise<unknown>).call(opts.service, input);
    const { headers, body: out } = serializeOutput(operation, output);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), ...headers });
    res.end(out);
    logger.info({ operation, status: 200, ms: Date.now() - started }, 'request');
  } catch (e) {
    const status = sendError(res, e);
    if (status >= 500) logger.error({ err: e, operation }, 'request failed');
    else logger.info({ operation, status, error: (e as Error).name, ms: Date.now() - started }, 'request');
  }
}

function sendError(res: ServerResponse, e: unknown): number {
  let name: string;
  let status: number;
  let message: string;
  if (e instanceof CleanRoomsMLServiceException || e instanceof WireError) {
    name = e.name;
    status = e.httpStatusCode;
    message = e.message;
  } else {
    name = 'InternalServiceException';
    status = 500;
    message = 'cleanrooms-ml-local failed to answer this request.';
  }
  const body = JSON.stringify({ message });
  if (!res.headersSent) {
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': name, 'content-length': Buffer.byteLength(body) });
  }
  res.end(body);
  return status;
}
