import type { ShapeMeta } from '../generated/model.js';
import { structureOf, type ProtocolModel } from './protocol-model.js';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** The JSON body; undefined when the status forbids one (204, 304). */
  body: Record<string, unknown> | undefined;
}

/**
 * Renders an operation's output as REST-JSON carries it, driven by the output shape: members with a header
 * location become headers, the rest the JSON body; only the shape's members go out, absent optionals are left
 * out (never `null`), timestamps follow `timestampFormat`, and the status is the operation's success code.
 */
export function serializeOutput(model: ProtocolModel, operation: string, output: unknown): WireResponse {
  const op = model.operations[operation];
  const shape = structureOf(model, op?.output);
  return serializeStructure(model, shape, output, op?.successCode ?? 200);
}

/** The same rendering for a modelled error shape (its `message` and any other members it defines). */
export function serializeStructure(model: ProtocolModel, shape: ReturnType<typeof structureOf>, value: unknown, status: number): WireResponse {
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  for (const [name, member] of Object.entries(shape?.members ?? {})) {
    const v = record[name];
    if (v === undefined || v === null) continue;
    const target = model.shapes[member.shape];
    const wireName = member.locationName ?? name;
    switch (member.location as string | undefined) {
      case 'header':
        headers[wireName] = headerText(model, target, v);
        break;
      case 'headers':
        for (const [k, hv] of Object.entries(v as Record<string, unknown>)) if (hv !== undefined && hv !== null) headers[`${wireName}${k}`] = String(hv);
        break;
      case 'statusCode':
        if (typeof v === 'number') status = v;
        break;
      default: {
        const wire = toWire(model, member.shape, v);
        if (wire !== undefined) body[name] = wire;
      }
    }
  }
  const empty = status === 204 || status === 304;
  return { status, headers, body: empty ? undefined : body };
}

type Encoder = (value: unknown) => unknown;

/**
 * Each shape's rendering, planned once per model and shape: a response is then one walk of closures that already
 * know their members, with no look-up of the model, no `Object.entries` of a shape and no switch per value (the
 * endpoint's per-request cost; a GetTrainedModel renders some 40 values).
 */
const encoders = new WeakMap<ProtocolModel, Map<string, Encoder>>();

function toWire(model: ProtocolModel, shapeName: string, value: unknown): unknown {
  return encoderOf(model, shapeName)(value);
}

function encoderOf(model: ProtocolModel, shapeName: string): Encoder {
  let planned = encoders.get(model);
  if (!planned) encoders.set(model, (planned = new Map()));
  const known = planned.get(shapeName);
  if (known) return known;
  // A shape can contain itself: its entry is in place, forwarding to the real plan, before that plan is made.
  const plan: { real?: Encoder } = {};
  planned.set(shapeName, (v) => plan.real!(v));
  plan.real = planEncoder(model, shapeName);
  planned.set(shapeName, plan.real);
  return plan.real;
}

function planEncoder(model: ProtocolModel, shapeName: string): Encoder {
  const shape = model.shapes[shapeName];
  switch (shape?.type) {
    case 'structure': {
      const members = Object.entries(shape.members).map(([k, m]) => ({ k, shape: m.shape, enc: undefined as Encoder | undefined }));
      return (value) => {
        if (value === undefined || value === null) return undefined;
        if (typeof value !== 'object') return value;
        const out: Record<string, unknown> = {};
        for (const m of members) {
          const raw = (value as Record<string, unknown>)[m.k];
          if (raw === undefined || raw === null) continue;
          const v = (m.enc ??= encoderOf(model, m.shape))(raw);
          if (v !== undefined) out[m.k] = v;
        }
        return out;
      };
    }
    case 'list': {
      let item: Encoder | undefined;
      return (value) => {
        if (value === undefined || value === null) return undefined;
        if (!Array.isArray(value)) return value;
        item ??= encoderOf(model, shape.member);
        return value.map((v) => item!(v) ?? null);
      };
    }
    case 'map': {
      let entry: Encoder | undefined;
      return (value) => {
        if (value === undefined || value === null) return undefined;
        if (typeof value !== 'object') return value;
        entry ??= encoderOf(model, shape.value);
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const w = entry(v);
          if (w !== undefined) out[k] = w;
        }
        return out;
      };
    }
    case 'timestamp': {
      // A body timestamp with no timestampFormat is epoch seconds in REST-JSON.
      const format = shape.timestampFormat ?? 'unixTimestamp';
      return (value) => (value === undefined || value === null ? undefined : formatTimestamp(value, format));
    }
    case 'blob':
      return (value) => (value === undefined || value === null ? undefined : toBuffer(value).toString('base64'));
    case 'double':
    case 'float':
      // JSON has no NaN or Infinity: AWS JSON protocols send them as these strings.
      return (value) =>
        value === null ? undefined : typeof value === 'number' && !Number.isFinite(value) ? (Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity') : value;
    default:
      return (value) => (value === null ? undefined : value);
  }
}

function headerText(model: ProtocolModel, shape: ShapeMeta | undefined, value: unknown): string {
  if (shape?.type === 'timestamp') return String(formatTimestamp(value, shape.timestampFormat ?? 'rfc822'));
  if (shape?.type === 'list' && Array.isArray(value)) return value.map((v) => headerText(model, model.shapes[shape.member], v)).join(', ');
  if (shape?.type === 'blob') return toBuffer(value).toString('base64');
  return String(value);
}

function formatTimestamp(value: unknown, format: string): string | number {
  const date = value instanceof Date ? value : new Date(typeof value === 'number' ? value * 1000 : String(value));
  // A service returning something that is not a time is a bug on our side: fail loudly, as a 500.
  if (Number.isNaN(date.getTime())) throw new TypeError(`Cannot render ${JSON.stringify(value)} as a timestamp.`);
  switch (format.toLowerCase()) {
    case 'iso8601':
      return date.toISOString();
    case 'rfc822':
      return date.toUTCString();
    default:
      return date.getTime() / 1000;
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.from(String(value), 'utf8');
}
