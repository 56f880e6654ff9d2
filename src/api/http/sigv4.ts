import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { wireErrors } from './wire-errors.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const MAX_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way AWS does for a REST-JSON service, with
 * the canonical request built as botocore and the SDKs build it. Throws the error AWS answers with:
 * MissingAuthenticationTokenException (no signature), IncompleteSignatureException (a malformed one),
 * UnrecognizedClientException (an unknown access key), InvalidSignatureException (wrong, expired, or scoped
 * to another service).
 */
export function verifySignature(req: SignedRequest, credentials: Credentials, signingName: string, now: Date = new Date()): void {
  const auth = header(req.headers, 'authorization');
  if (auth === undefined || auth.trim() === '') throw wireErrors.missingAuthentication();
  const parsed = parseAuthorization(auth);
  const [accessKeyId, date, region, service, terminator, ...rest] = parsed.credential.split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request' || rest.length > 0) {
    throw wireErrors.incompleteSignature(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parsed.credential}'`);
  }
  if (accessKeyId !== credentials.accessKeyId) throw wireErrors.unrecognizedClient();

  const requestTime = readRequestTime(req.headers);
  const requestStamp = toAmzDate(requestTime.date);
  if (Math.abs(now.getTime() - requestTime.date.getTime()) > MAX_SKEW_MS) {
    throw wireErrors.invalidSignature(
      `Signature expired: ${requestStamp} is now earlier than ${toAmzDate(new Date(now.getTime() - MAX_SKEW_MS))} (${toAmzDate(now)} - 15 min.)`,
    );
  }
  if (date !== requestStamp.slice(0, 8)) throw wireErrors.invalidSignature(`Credential should be scoped to a valid date: '${requestStamp.slice(0, 8)}', not '${date}'.`);
  if (service !== signingName) throw wireErrors.invalidSignature(`Credential should be scoped to correct service: '${signingName}'.`);

  const signedHeaders = parsed.signedHeaders.split(';');
  if (!signedHeaders.includes('host')) throw wireErrors.invalidSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.");

  const claimedHash = header(req.headers, 'x-amz-content-sha256');
  const bodyHash = sha256(req.body);
  if (claimedHash !== undefined && claimedHash !== UNSIGNED_PAYLOAD && claimedHash !== bodyHash) {
    throw wireErrors.invalidSignature('The provided x-amz-content-sha256 header does not match the hash of the request body.');
  }
  const canonicalRequest = [
    req.method,
    canonicalUri(req.rawPath),
    canonicalQuery(req.rawQuery),
    signedHeaders.map((h) => `${h}:${(header(req.headers, h) ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
    parsed.signedHeaders,
    claimedHash ?? bodyHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', requestTime.stamp, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(parsed.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(expected, given)) throw wireErrors.signatureMismatch(canonicalRequest, stringToSign);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, its three parts in any order. */
function parseAuthorization(auth: string): { credential: string; signedHeaders: string; signature: string } {
  const trimmed = auth.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    throw wireErrors.incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'; only AWS4-HMAC-SHA256 is accepted.`);
  }
  const parts = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((p) => !parts.get(p));
  if (missing.length > 0) {
    throw wireErrors.incompleteSignature(
      `${missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' ')} Authorization=${trimmed}`,
    );
  }
  const signature = parts.get('Signature')!;
  if (!/^[0-9a-f]{64}$/.test(signature)) throw wireErrors.incompleteSignature('The Signature must be 64 lowercase hexadecimal characters.');
  return { credential: parts.get('Credential')!, signedHeaders: parts.get('SignedHeaders')!, signature };
}

/** X-Amz-Date (`20240102T030405Z`), or else the Date header, as AWS accepts either. */
function readRequestTime(headers: IncomingHttpHeaders): { date: Date; stamp: string } {
  const amz = header(headers, 'x-amz-date');
  if (amz !== undefined) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amz.trim());
    const date = m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw wireErrors.incompleteSignature(`X-Amz-Date must be in ISO 8601 basic format (yyyyMMddTHHmmssZ), got '${amz}'.`);
    return { date, stamp: amz.trim() };
  }
  const http = header(headers, 'date');
  const date = http === undefined ? undefined : new Date(http);
  if (!date || Number.isNaN(date.getTime())) {
    throw wireErrors.incompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  return { date, stamp: toAmzDate(date) };
}

function toAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters (and `/` when asked). */
function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/') ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The path as botocore signs it for every service but S3: dot segments and empty segments removed, then the
 * (already percent-encoded) path encoded once more, so `arn%3Aaws` is signed as `arn%253Aaws`.
 */
function canonicalUri(rawPath: string): string {
  const kept: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') kept.pop();
    else kept.push(segment);
  }
  const trailing = rawPath.endsWith('/') && kept.length > 0 ? '/' : '';
  return uriEncode(`/${kept.join('/')}${trailing}`, true);
}

/** Each name and value decoded and re-encoded strictly, sorted by name then value; a malformed escape is kept as sent. */
function canonicalQuery(rawQuery: string): string {
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return [uriEncode(decode(i < 0 ? p : p.slice(0, i)), false), uriEncode(decode(i < 0 ? '' : p.slice(i + 1)), false)] as const;
    });
  pairs.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}
