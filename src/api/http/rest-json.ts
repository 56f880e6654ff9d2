import { operations, shapes, type OperationName, type ShapeMeta } from '../generated/model.js';
import type { RouteMatch } from './router.js';
import { wireErrors } from './wire-errors.js';

type Structure = Extract<ShapeMeta, { type: 'structure' }>;

/**
 * The REST-JSON protocol, driven by the model: members come from the path, the query string, headers or the
 * JSON body as their `location` says, and go back out the same way. Values are passed on with only the
 * coercion the wire needs (a number in a query string); validation then speaks in AWS's words.
 */
export function parseRequest(
  match: RouteMatch,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Record<string, unknown> {
  const op = operations[match.operation];
  const input: Record<string, unknown> = {};
  if (!('input' in op) || !op.input) return input;
  const shape = shapes[op.input] as Structure;
  let json: Record<string, unknown> = {};
  const text = body.toString('utf8').trim();
  if (text.length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw wireErrors.serialization(`The request body is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw wireErrors.serialization('The request body must be a JSON object.');
    }
    json = parsed as Record<string, unknown>;
  }
  for (const [name, member] of Object.entries(shape.members)) {
    const target = shapes[member.shape];
    switch (member.location) {
      case 'uri':
        if (match.labels[member.locationName ?? name] !== undefined) input[name] = match.labels[member.locationName ?? name];
        break;
      case 'querystring': {
        const key = member.locationName ?? name;
        if (target?.type === 'list') {
          const all = query.getAll(key);
          if (all.length > 0) input[name] = all;
        } else if (query.has(key)) {
          input[name] = coerceScalar(target, query.get(key)!);
        }
        break;
      }
      case 'header': {
        const v = headers[(member.locationName ?? name).toLowerCase()];
        if (v !== undefined) input[name] = coerceScalar(target, Array.isArray(v) ? v.join(',') : v);
        break;
      }
      default:
        if (json[name] !== undefined) input[name] = json[name];
    }
  }
  // Members the model does not know are ignored, as the service ignores them, except our documented
  // local extension inside the data source, which the service object reads.
  return input;
}

function coerceScalar(shape: ShapeMeta | undefined, raw: string): unknown {
  if (shape && ['integer', 'long'].includes(shape.type) && /^-?\d+$/.test(raw)) return Number(raw);
  if (shape && ['double', 'float'].includes(shape.type) && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (shape?.type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/** Renders an output as the wire carries it: timestamps per timestampFormat, absent optionals left out. */
export function serializeOutput(operation: OperationName, output: unknown): { headers: Record<string, string>; body: string } {
  const op = operations[operation];
  const headers: Record<string, string> = {};
  if (!('output' in op) || !op.output || output === undefined || output === null) return { headers, body: '{}' };
  const shape = shapes[op.output] as Structure;
  const body: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(shape.members)) {
    const v = (output as Record<string, unknown>)[name];
    if (v === undefined || v === null) continue;
    if (member.location === 'header') headers[member.locationName ?? name] = String(v);
    else body[name] = toWire(member.shape, v);
  }
  return { headers, body: JSON.stringify(body) };
}

function toWire(shapeName: string, value: unknown): unknown {
  const shape = shapes[shapeName];
  if (value === undefined || value === null || !shape) return value ?? undefined;
  switch (shape.type) {
    case 'timestamp': {
      const d = value instanceof Date ? value : new Date(value as string);
      return shape.timestampFormat === 'iso8601' ? d.toISOString() : d.getTime() / 1000;
    }
    case 'structure': {
      const out: Record<string, unknown> = {};
      for (const [k, m] of Object.entries(shape.members)) {
        const v = toWire(m.shape, (value as Record<string, unknown>)[k]);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    case 'list':
      return (value as unknown[]).map((v) => toWire(shape.member, v));
    case 'map':
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toWire(shape.value, v)]));
    default:
      return value;
  }
}
