import type { IncomingHttpHeaders } from 'node:http';
import type { ShapeMeta } from '../generated/model.js';
import { structureOf, type ProtocolModel } from './protocol-model.js';
import { wireErrors } from './wire-errors.js';

export interface WireRequest {
  /** Percent-decoded URI labels by label name. */
  labels: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Builds an operation's input from the wire as REST-JSON places it: each member from the URI, the query string,
 * a header, a header prefix or the JSON body, as its `location` says. Values pass with only the coercion the
 * wire needs (text that reads as a number or boolean where the shape wants one); anything else is left as
 * sent, so the service's validation names the field in AWS's words.
 */
export function parseRequest(model: ProtocolModel, operation: string, req: WireRequest): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const shape = structureOf(model, model.operations[operation]?.input);
  if (!shape) return input;
  const members = Object.entries(shape.members);
  const json = members.some(([, m]) => m.location === undefined) ? parseBody(req) : {};
  const claimedQueryKeys = new Set(members.filter(([, m]) => m.location === 'querystring').map(([n, m]) => m.locationName ?? n));

  for (const [name, member] of members) {
    const target = model.shapes[member.shape];
    const wireName = member.locationName ?? name;
    let value: unknown;
    switch (member.location) {
      case 'uri':
        value = req.labels[wireName] === undefined ? undefined : fromText(target, req.labels[wireName]);
        break;
      case 'querystring':
        value = fromQuery(model, target, wireName, req.query, claimedQueryKeys);
        break;
      case 'header':
        value = fromHeader(model, target, req.headers[wireName.toLowerCase()]);
        break;
      case 'headers':
        value = fromHeaderPrefix(req.headers, wireName.toLowerCase());
        break;
      default:
        // A JSON null is an absent member, as AWS reads it.
        value = json[name] ?? undefined;
    }
    if (value !== undefined) input[name] = value;
  }
  return input;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]*\+)?(?:x-amz-)?json(?:-1\.[01])?$/i;

/** Deeper JSON is refused before it is parsed: no shape of the model nests a tenth as deep (decided). */
export const MAX_JSON_DEPTH = 64;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseBody(req: WireRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  const contentType = req.headers['content-type'];
  // No Content-Type is let through (curl and hand-written clients often omit it); a different one is refused.
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim())) throw wireErrors.unsupportedMediaType(contentType);
  let text: string;
  try {
    // Refused rather than stored with U+FFFD in place of what was sent (decided).
    text = STRICT_UTF8.decode(req.body);
  } catch {
    throw wireErrors.serialization('The request body is not valid UTF-8.');
  }
  if (text.trim().length === 0) return {};
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw wireErrors.serialization(`The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw wireErrors.serialization(`The request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw wireErrors.serialization('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** One pass over the text, strings skipped: whether `[`/`{` nest deeper than `max`. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function fromQuery(
  model: ProtocolModel,
  target: ShapeMeta | undefined,
  key: string,
  query: URLSearchParams,
  claimed: Set<string>,
): unknown {
  if (target?.type === 'list') {
    // Lists travel as the key repeated: `?tagKeys=a&tagKeys=b`.
    const all = query.getAll(key);
    return all.length > 0 ? all.map((v) => fromText(model.shapes[target.member], v)) : undefined;
  }
  if (target?.type === 'map') {
    // A map in the query string takes every parameter no other member claims.
    const out: Record<string, unknown> = {};
    for (const [k, v] of query) if (!claimed.has(k)) setOwn(out, k, v);
    return Object.keys(out).length > 0 ? out : undefined;
  }
  const v = query.get(key);
  return v === null ? undefined : fromText(target, v);
}

function fromHeader(model: ProtocolModel, target: ShapeMeta | undefined, raw: string | string[] | undefined): unknown {
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? raw.join(', ') : raw;
  if (target?.type === 'list') return text.split(',').map((v) => fromText(model.shapes[target.member], v.trim()));
  return fromText(target, text);
}

function fromHeaderPrefix(headers: IncomingHttpHeaders, prefix: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(prefix) && v !== undefined) setOwn(out, k.slice(prefix.length), Array.isArray(v) ? v.join(', ') : v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A map entry as an own property whatever its key: `out['__proto__'] = v` would set the prototype instead. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Text from the URI, query or a header, turned into the shape's type only when it plainly is one. */
function fromText(shape: ShapeMeta | undefined, raw: string): unknown {
  switch (shape?.type) {
    case 'integer':
    case 'long':
      return /^-?\d+$/.test(raw) ? Number(raw) : raw;
    case 'double':
    case 'float':
      return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'timestamp': {
      const epoch = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
      return Number.isFinite(epoch) ? new Date(epoch) : raw;
    }
    default:
      return raw;
  }
}
