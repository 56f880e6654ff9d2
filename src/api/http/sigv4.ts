import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { wireErrors } from './wire-errors.js';

/**
 * Verifies AWS Signature Version 4 as botocore and the AWS SDKs sign REST-JSON requests: the canonical URI
 * is the path as sent, URI-encoded once more (every service but S3 double-encodes), the query sorted, the
 * signed headers trimmed, the payload hashed. A request more than 15 minutes off is refused.
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const MAX_SKEW_MS = 15 * 60 * 1000;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters (and `/` when asked). */
function uriEncode(s: string, keepSlash: boolean): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      const k = decodeURIComponent((i < 0 ? p : p.slice(0, i)).replace(/\+/g, ' '));
      const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, ' '));
      return [uriEncode(k, false), uriEncode(v, false)] as const;
    });
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function verifySignature(
  req: { method: string; rawPath: string; rawQuery: string; headers: IncomingHttpHeaders; body: Buffer },
  credentials: Credentials,
  now: Date = new Date(),
): void {
  const auth = headerValue(req.headers, 'authorization');
  if (!auth) throw wireErrors.missingAuthentication();
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth.trim());
  if (!m) throw wireErrors.invalidSignature('The Authorization header is not an AWS4-HMAC-SHA256 signature.');
  const [, credential, signedHeadersList, signature] = m as unknown as [string, string, string, string];
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  if (accessKeyId !== credentials.accessKeyId) throw wireErrors.unrecognizedClient();
  if (!date || !region || !service || terminator !== 'aws4_request') throw wireErrors.invalidSignature('The credential scope is malformed.');
  const amzDate = headerValue(req.headers, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw wireErrors.invalidSignature('X-Amz-Date is missing or malformed.');
  const when = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (!Number.isFinite(when) || Math.abs(now.getTime() - when) > MAX_SKEW_MS) throw wireErrors.expired();
  const signedHeaders = signedHeadersList.split(';');
  if (!signedHeaders.includes('host')) throw wireErrors.invalidSignature('The host header must be signed.');
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${(headerValue(req.headers, h) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = headerValue(req.headers, 'x-amz-content-sha256') ?? sha256(req.body);
  const canonicalRequest = [
    req.method,
    uriEncode(req.rawPath, true),
    canonicalQuery(req.rawQuery),
    canonicalHeaders,
    signedHeadersList,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw wireErrors.invalidSignature('');
}
