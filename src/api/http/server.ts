import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { OperationInputs, OperationOutputs } from '../generated/types.js';
import type { OperationName } from '../generated/model.js';
import { errorResponse } from './error-response.js';
import { cleanRoomsMLProtocol, type ProtocolModel } from './protocol-model.js';
import { parseRequest } from './request-parser.js';
import { serializeOutput, type WireResponse } from './response-serializer.js';
import { Router } from './router.js';
import { verifySignature, type Credentials } from './sigv4.js';
import { WireError, wireErrors } from './wire-errors.js';
import { resolveLocalDataRoots } from '../../channels/local-data.js';

/** What the endpoint tells an operation about its caller: over HTTP, only these folders may be local data. */
export interface RemoteCaller {
  localDataRoots: readonly string[];
}

/**
 * The service as the endpoint sees it: one method per operation, named in lowerCamelCase, taking the input shape
 * and resolving to the output shape (or nothing). CleanRoomsMLLocal is one; a test's fake may have a few.
 */
export type RestJsonService = {
  [K in OperationName as Uncapitalize<K>]?: (input: OperationInputs[K], caller: RemoteCaller) => Promise<OperationOutputs[K] | void>;
};

export interface ServerOptions {
  service: RestJsonService;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) for an ephemeral port. */
  port?: number;
  /** With credentials, every request must carry a valid SigV4 signature made with them; without, anything goes. */
  credentials?: Credentials;
  logger?: Logger;
  /** Larger bodies are refused with 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** The model the routes and shapes come from (default Clean Rooms ML's). */
  model?: ProtocolModel;
  /** Folders a localDataSource may name over HTTP (links followed); none (the default): localDataSource is refused. */
  localDataRoots?: readonly string[];
  /** Browser origins (`https://app.example:8443`, or `*`) whose requests are answered; a request with any other Origin is refused. */
  allowedOrigins?: readonly string[];
  /** Host header names (`name` or `name:port`) answered besides loopback addresses, `localhost` and the bound address. */
  allowedHosts?: readonly string[];
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The REST-JSON endpoint the AWS CLI and boto3 reach with `--endpoint-url`. No input can crash it. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const model = opts.model ?? cleanRoomsMLProtocol;
  const host = opts.host ?? '127.0.0.1';
  const endpoint = new Endpoint(opts.service as unknown as Record<string, unknown>, model, new Router(model), logger, {
    credentials: opts.credentials,
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    caller: { localDataRoots: await resolveLocalDataRoots(opts.localDataRoots ?? []) },
    browsers: new BrowserGuard(host, opts.allowedOrigins ?? [], opts.allowedHosts ?? []),
  });
  const server = createServer((req, res) => {
    endpoint.handle(req, res).catch((e) => {
      logger.error({ err: e }, 'unexpected failure while answering');
      res.destroy();
    });
  });
  // Requests Node's HTTP parser refuses (bad framing, an unknown method, huge headers) still get an AWS-shaped answer.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ __type: 'SerializationException', message: 'The request could not be parsed as HTTP/1.1.' });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\n` +
        `x-amzn-ErrorType: SerializationException\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => logger.error({ err: e }, 'endpoint server error'));
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A response as sent: with its body's JSON text when that was kept (see Endpoint.render). */
type Answer = WireResponse & { text?: string };

interface EndpointOptions {
  credentials: Credentials | undefined;
  maxBodyBytes: number;
  caller: RemoteCaller;
  browsers: BrowserGuard;
}

class Endpoint {
  private readonly credentials: Credentials | undefined;
  private readonly maxBodyBytes: number;

  constructor(
    private readonly service: Record<string, unknown>,
    private readonly model: ProtocolModel,
    private readonly router: Router,
    private readonly logger: Logger,
    private readonly opts: EndpointOptions,
  ) {
    this.credentials = opts.credentials;
    this.maxBodyBytes = opts.maxBodyBytes;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    let operation: string | undefined;
    let answer: Answer;
    let errorName: string | undefined;
    const corsHeaders: Record<string, string> = {};
    try {
      const outcome = await this.answer(req, requestId, corsHeaders);
      operation = outcome.operation;
      answer = outcome.response;
    } catch (e) {
      const failed = errorResponse(this.model, e, requestId);
      answer = failed.response;
      errorName = failed.name;
      if (e instanceof WireError && e.httpStatusCode === 413) answer.headers.connection = 'close';
      if (answer.status >= 500 && answer.status !== 501) this.logger.error({ err: e, requestId, method: req.method, url: req.url }, 'request failed');
    }
    // An allowed page reads the errors too (a copy: an answer may be shared, see render).
    if (Object.keys(corsHeaders).length > 0) answer = { ...answer, headers: { ...answer.headers, ...corsHeaders } };
    this.send(res, answer, requestId);
    this.logger.info({ requestId, method: req.method, url: req.url, operation, status: answer.status, error: errorName, ms: Date.now() - started }, 'request');
  }

  private async answer(req: IncomingMessage, requestId: string, corsHeaders: Record<string, string>): Promise<{ operation?: string; response: Answer }> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    // Before anything else: a web page (CSRF) or a rebound DNS name must not reach the API through a browser.
    const cors = this.opts.browsers.check(req.headers);
    Object.assign(corsHeaders, cors.headers);
    if (method === 'OPTIONS' && cors.origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
      return { response: { status: 204, headers: cors.preflight(req.headers), body: undefined } };
    }
    const body = await readBody(req, this.maxBodyBytes);
    // As at AWS, a request is authenticated before anything else is said about it.
    if (this.credentials) verifySignature({ method, rawPath, rawQuery, headers: req.headers, body }, this.credentials, this.model.signingName);
    const r = this.router.route(method, rawPath);
    switch (r.kind) {
      case 'notFound':
        throw wireErrors.unknownOperation(method, rawPath);
      case 'methodNotAllowed':
        throw wireErrors.methodNotAllowed(method, rawPath, r.allowed);
      case 'badLabel':
        throw wireErrors.serialization(`The path segment for '${r.label}' is not valid percent-encoded UTF-8.`);
      case 'unimplemented':
        throw wireErrors.notImplemented(r.operation);
    }
    const handler = this.service[r.operation.charAt(0).toLowerCase() + r.operation.slice(1)];
    if (typeof handler !== 'function') throw wireErrors.notImplemented(r.operation);
    const input = parseRequest(this.model, r.operation, { labels: r.labels, query: strictQuery(rawQuery), headers: req.headers, body });
    this.logger.debug({ requestId, operation: r.operation }, 'calling the operation');
    const output: unknown = await (handler as (input: unknown, caller: RemoteCaller) => unknown).call(this.service, input, this.opts.caller);
    return { operation: r.operation, response: this.render(r.operation, output) };
  }

  /**
   * The output's wire form. An output the service froze cannot change, so its wire form and JSON text are kept
   * (by identity, for as long as the service keeps the output): a polled GetTrainedModel is rendered once.
   */
  private render(operation: string, output: unknown): Answer {
    if (typeof output !== 'object' || output === null || !Object.isFrozen(output)) return serializeOutput(this.model, operation, output);
    const known = this.kept.get(output);
    if (known?.operation === operation) return known.answer;
    const response = serializeOutput(this.model, operation, output);
    const answer: Answer = Object.freeze({ ...response, text: response.body === undefined ? '' : JSON.stringify(response.body) });
    this.kept.set(output, { operation, answer });
    return answer;
  }

  private readonly kept = new WeakMap<object, { operation: string; answer: Answer }>();

  private send(res: ServerResponse, answer: Answer, requestId: string): void {
    if (res.headersSent) return void res.destroy();
    const text = answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
    const headers: Record<string, string | number> = { ...answer.headers, 'x-amzn-RequestId': requestId };
    if (answer.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(text);
    }
    try {
      res.writeHead(answer.status, headers);
      res.end(text);
    } catch (e) {
      // Only a header value the service put there could be refused; do not let it take the process down.
      this.logger.error({ err: e, requestId }, 'could not write the response');
      res.destroy();
    }
    if (headers.connection === 'close') res.once('finish', () => setTimeout(() => res.req.socket.destroy(), 1000).unref());
  }
}

/** The query string, refused (400) rather than changed when its percent-encoding is not valid UTF-8. */
function strictQuery(rawQuery: string): URLSearchParams {
  if (rawQuery === '') return new URLSearchParams();
  for (const part of rawQuery.split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      throw wireErrors.serialization(`The query string parameter '${part.slice(0, 100)}' is not valid percent-encoded UTF-8.`);
    }
  }
  return new URLSearchParams(rawQuery);
}

const LOOPBACK_NAMES = new Set(['localhost', '::1', '0:0:0:0:0:0:0:1']);
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * Browsers send an API call from any web page they show: refused unless its Origin is allowed (CSRF), and
 * unless the Host it was sent to is a loopback address, `localhost`, the bound address or an allowed name, so a
 * DNS name rebound to 127.0.0.1 gets nothing (decided). boto3 and the AWS CLI send no Origin and Host
 * 127.0.0.1:PORT. An allowed origin also gets CORS headers, so its page can read the answers.
 */
/** An origin compared without case or trailing slashes (no regex: the header is the caller's). */
function normalOrigin(origin: string): string {
  let end = origin.length;
  while (end > 0 && origin[end - 1] === '/') end -= 1;
  return origin.slice(0, end).toLowerCase();
}

class BrowserGuard {
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;

  constructor(boundHost: string, origins: readonly string[], hosts: readonly string[]) {
    this.origins = new Set(origins.map((o) => normalOrigin(o)));
    this.hosts = new Set(hosts.map((h) => h.toLowerCase().replace(/\.$/, '')));
    const bound = boundHost.toLowerCase().replace(/^\[|\]$/g, '');
    if (!WILDCARDS.has(bound)) this.hosts.add(bound);
  }

  check(headers: IncomingMessage['headers']): { origin?: string; headers: Record<string, string>; preflight: (h: IncomingMessage['headers']) => Record<string, string> } {
    const host = headers.host;
    if (host !== undefined && !this.hostAllowed(host)) {
      throw wireErrors.accessDenied(`Requests to Host '${host}' are refused: only loopback addresses, localhost and the names given with crml serve --allow-host are answered.`);
    }
    const origin = headers.origin;
    if (origin === undefined) return { headers: {}, preflight: () => ({}) };
    if (!this.origins.has('*') && !this.origins.has(normalOrigin(origin))) {
      throw wireErrors.accessDenied(`Requests from Origin '${origin}' are refused: only the origins given with crml serve --allow-origin are answered.`);
    }
    const cors = {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': 'x-amzn-RequestId, x-amzn-ErrorType',
      vary: 'Origin',
    };
    return {
      origin,
      headers: cors,
      preflight: (h) => ({
        ...cors,
        'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
        'access-control-allow-headers': String(h['access-control-request-headers'] ?? ''),
        'access-control-max-age': '600',
      }),
    };
  }

  private hostAllowed(header: string): boolean {
    const full = header.trim().toLowerCase();
    const m = /^\[([^\]]*)\](?::\d*)?$/.exec(full) ?? /^([^:]*)(?::\d*)?$/.exec(full);
    // Several colons and no brackets: a bare IPv6 address.
    const name = (m ? m[1]! : full).replace(/\.$/, '');
    if (LOOPBACK_NAMES.has(name) || (isIPv4(name) && name.startsWith('127.'))) return true;
    return this.hosts.has(name) || this.hosts.has(full);
  }
}

const EMPTY_BODY = Buffer.alloc(0);

/** The body, up to a limit: beyond it the request is refused (and the rest is discarded, not kept). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  // No body declared (a GET, as the AWS CLI sends it): nothing to wait for. Node's parser has already read any
  // message without Content-Length or Transfer-Encoding to its end: such a request has no body.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY_BODY);
  }
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return reject(wireErrors.tooLarge(max));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > max) {
        refused = true;
        chunks.length = 0;
        reject(wireErrors.tooLarge(max));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(wireErrors.serialization('The request ended before its body was complete.'));
    });
  });
}
