import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/api/http/server.js';
import { fakeService, MEMBERSHIP, TRAINED_MODEL_ARN } from './fake-service.js';

type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Source) =>
  typeof d === 'string' ? Buffer.from(d) : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** The hash the Smithy signer asks for, over node:crypto. */
class Sha256 {
  private hash!: Hash | Hmac;
  constructor(private readonly secret?: Source) {
    this.reset();
  }
  update(data: Source) {
    this.hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

const CREDENTIALS = { accessKeyId: 'AKIDCRMLTEST', secretAccessKey: 'wJalr/XUtnFEMI+K7MDENG' };

interface Sent {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  body?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  service?: string;
  signingDate?: Date;
  tamper?: (headers: Record<string, string>) => void;
  /** Sent instead of the signed body. */
  sendBody?: string;
}

/** Signs with the AWS SDK for JavaScript's own SigV4 signer (not ours), then sends exactly what it signed. */
async function signedRequest(port: number, s: Sent): Promise<{ status: number; type: string | undefined; message: string }> {
  const signer = new SignatureV4({ service: s.service ?? 'cleanrooms-ml', region: 'us-east-1', credentials: s.credentials ?? CREDENTIALS, sha256: Sha256, uriEscapePath: true });
  const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
  if (s.body !== undefined) headers['content-type'] = 'application/json';
  const signed = await signer.sign(
    { method: s.method, protocol: 'http:', hostname: '127.0.0.1', port, path: s.path, query: s.query ?? {}, headers, body: s.body },
    { signingDate: s.signingDate ?? new Date() },
  );
  const out = { ...(signed.headers as Record<string, string>) };
  s.tamper?.(out);
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(s.query ?? {})) for (const one of [v].flat()) query.append(k, one);
  const qs = query.toString().replace(/\+/g, '%20');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: s.method, path: qs ? `${s.path}?${qs}` : s.path, headers: out }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, type: res.headers['x-amzn-errortype'] as string | undefined, message: text ? (JSON.parse(text) as { message?: string }).message ?? '' : '' });
      });
    });
    req.on('error', reject);
    req.end(s.sendBody ?? s.body ?? '');
  });
}

describe('SigV4 at the endpoint', () => {
  const service = fakeService();
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ service, credentials: CREDENTIALS });
  });
  afterAll(() => server.close());

  const modelPath = `/memberships/${MEMBERSHIP}/trained-models/${encodeURIComponent(TRAINED_MODEL_ARN)}`;

  it('accepts requests signed with the configured key: a percent-encoded ARN path, a query with repeats and spaces, a JSON body', async () => {
    expect(await signedRequest(server.port, { method: 'GET', path: modelPath })).toMatchObject({ status: 200 });
    expect(service.last()?.input.trainedModelArn).toBe(TRAINED_MODEL_ARN);
    const untag = await signedRequest(server.port, { method: 'DELETE', path: `/tags/${encodeURIComponent(TRAINED_MODEL_ARN)}`, query: { tagKeys: ['b key', 'a~key*'] } });
    expect(untag.status).toBe(200);
    expect(service.last()?.input.tagKeys).toEqual(['b key', 'a~key*']);
    const tag = await signedRequest(server.port, { method: 'POST', path: '/tags/x', body: JSON.stringify({ tags: { 'é': 'ü' } }) });
    expect(tag.status).toBe(200);
    expect(service.last()?.input.tags).toEqual({ 'é': 'ü' });
  });

  it('refuses a request with no Authorization header: 403 MissingAuthenticationTokenException', async () => {
    const res = await fetch(`${server.url}${modelPath}`);
    expect({ status: res.status, type: res.headers.get('x-amzn-errortype') }).toEqual({ status: 403, type: 'MissingAuthenticationTokenException' });
  });

  it('refuses an unknown access key: 403 UnrecognizedClientException', async () => {
    const r = await signedRequest(server.port, { method: 'GET', path: modelPath, credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: CREDENTIALS.secretAccessKey } });
    expect(r).toEqual({ status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  });

  it('refuses a wrong secret with 403 InvalidSignatureException, saying what it expected to be signed', async () => {
    const r = await signedRequest(server.port, { method: 'GET', path: modelPath, credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' } });
    expect(r.status).toBe(403);
    expect(r.type).toBe('InvalidSignatureException');
    expect(r.message).toContain('The request signature we calculated does not match the signature you provided.');
    expect(r.message).toContain(`GET\n/memberships/${MEMBERSHIP}/trained-models/arn%253Aaws%253Acleanrooms-ml`);
  });

  it('refuses a request changed after signing: another body, another host', async () => {
    const body = await signedRequest(server.port, { method: 'POST', path: '/tags/x', body: '{"tags":{"a":"b"}}', sendBody: '{"tags":{"a":"c"}}' });
    expect(body).toEqual({
      status: 403,
      type: 'InvalidSignatureException',
      message: 'The provided x-amz-content-sha256 header does not match the hash of the request body.',
    });
    const unhashed = await signedRequest(server.port, {
      method: 'POST',
      path: '/tags/x',
      body: '{"tags":{"a":"b"}}',
      sendBody: '{"tags":{"a":"c"}}',
      tamper: (h) => delete h['x-amz-content-sha256'],
    });
    expect({ status: unhashed.status, type: unhashed.type }).toEqual({ status: 403, type: 'InvalidSignatureException' });
    const moved = await signedRequest(server.port, { method: 'GET', path: modelPath, tamper: (h) => (h.host = 'localhost:1') }); // a Host the endpoint answers, but not the one signed
    expect({ status: moved.status, type: moved.type }).toEqual({ status: 403, type: 'InvalidSignatureException' });
  });

  it('refuses a signature older than 15 minutes, or scoped to another service', async () => {
    const old = await signedRequest(server.port, { method: 'GET', path: modelPath, signingDate: new Date(Date.now() - 16 * 60_000) });
    expect(old.status).toBe(403);
    expect(old.type).toBe('InvalidSignatureException');
    expect(old.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/);
    expect((await signedRequest(server.port, { method: 'GET', path: modelPath, signingDate: new Date(Date.now() - 10 * 60_000) })).status).toBe(200);
    const s3 = await signedRequest(server.port, { method: 'GET', path: modelPath, service: 's3' });
    expect({ status: s3.status, type: s3.type, message: s3.message }).toEqual({
      status: 403,
      type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'cleanrooms-ml'.",
    });
  });

  it('answers a malformed Authorization header 400 IncompleteSignatureException', async () => {
    for (const authorization of ['AWS4-HMAC-SHA256 garbage', 'Bearer abc', 'AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=zz']) {
      const res = await fetch(`${server.url}${modelPath}`, { headers: { authorization, 'x-amz-date': '20240101T000000Z' } });
      expect({ status: res.status, type: res.headers.get('x-amzn-errortype') }, authorization).toEqual({ status: 400, type: 'IncompleteSignatureException' });
    }
  });

  it('accepts anything when no credentials are configured', async () => {
    const open = await startServer({ service });
    try {
      const res = await fetch(`${open.url}${modelPath}`, { headers: { authorization: 'AWS4-HMAC-SHA256 garbage' } });
      expect(res.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
