import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateInput } from '../../src/api/validation.js';
import { TRAINING_OPERATIONS, modelDir } from '../../scripts/generate-api.js';
import type { OperationName } from '../../src/api/generated/model.js';

/**
 * The schemas agree with the model: every constraint is read from service-2.json at test time (not from
 * our generated files) and checked one past its bound (rejected) and at it (accepted).
 */

interface RawShape {
  type: string;
  members?: Record<string, { shape: string; location?: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
}
const model = JSON.parse(readFileSync(join(modelDir(), 'cleanroomsml/2023-09-06/service-2.json'), 'utf8')) as {
  shapes: Record<string, RawShape>;
  operations: Record<string, { input?: { shape: string } }>;
};
const S = model.shapes;

const UUID = '0123abcd-0000-4000-8000-0123456789ab';
/** For each pattern of the model: a valid value that stays valid when `pad` is appended, and one that is not valid. */
const PATTERNS: Record<string, { base: string; pad: string; off?: string }> = {
  '[0-9]{12}': { base: '123456789012', pad: '', off: '12345678901a' },
  '.*': { base: '', pad: 'a', off: 'a\nb' },
  '.+': { base: 'a', pad: 'a', off: 'a\nb' },
  '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}': { base: UUID, pad: '', off: UUID.toUpperCase() },
  'arn:aws[-a-z]*:cleanrooms:[\\w]{2}-[\\w]{4,9}-[\\d]:[\\d]{12}:membership/[\\d\\w-]+/analysistemplate/[\\d\\w-]+': {
    base: 'arn:aws:cleanrooms:us-east-1:123456789012:membership/m/analysistemplate/t',
    pad: 'a',
    off: 'arn:aws:cleanrooms:us-east-1:123456789012:membership/m/analysistemplate/t!',
  },
  'arn:aws:[\\w]+:[\\w]{2}-[\\w]{4,9}-[\\d]:[\\d]{12}:membership/[\\d\\w-]+/configuredtableassociation/[\\d\\w-]+': {
    base: 'arn:aws:cleanrooms:us-east-1:123456789012:membership/m/configuredtableassociation/t',
    pad: 'a',
    off: 'arn:aws:cleanrooms:us-east-1:123456789012:membership/m/configuredtable/t',
  },
  'arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:configured-model-algorithm/[-a-zA-Z0-9_/.]+': {
    base: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-model-algorithm/a',
    pad: 'a',
    off: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-model-algorithm/a b',
  },
  [`arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/configured-model-algorithm-association/[-a-zA-Z0-9_/.]+`]:
    {
      base: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/configured-model-algorithm-association/a`,
      pad: 'a',
      off: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/not-a-uuid/configured-model-algorithm-association/a`,
    },
  [`arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/ml-input-channel/[-a-zA-Z0-9_/.]+`]:
    {
      base: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/ml-input-channel/a`,
      pad: 'a',
      off: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/trained-model/a`,
    },
  [`arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/trained-model/[-a-zA-Z0-9_/.]+`]:
    {
      base: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/trained-model/a`,
      pad: 'a',
      off: `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/ml-input-channel/a`,
    },
  [`arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:((membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/(configured-model-algorithm-association|trained-model|trained-model-inference-job|ml-input-channel))|training-dataset|audience-model|configured-audience-model|audience-generation-job|configured-model-algorithm)/[-a-zA-Z0-9_/.]+`]:
    {
      base: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-model-algorithm/a',
      pad: 'a',
      off: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:unknown-thing/a',
    },
  '[a-zA-Z0-9\\_\\#\\=\\@/\\;\\,\\-\\ \\^\\$\\?\\[\\]\\{\\}\\|\\\\\\*\\+\\.\\(\\)]+': { base: 'a#=@/;, ^$?[]{}|\\*+.()_-', pad: 'a', off: 'a%' },
  '[a-zA-Z_][a-zA-Z0-9_]*': { base: 'A', pad: 'a', off: '1A' },
  '[\\S\\s]*': { base: 'a', pad: 'a' },
  'arn:aws[-a-z]*:iam::[0-9]{12}:role/.+': { base: 'arn:aws:iam::123456789012:role/r', pad: 'a', off: 'arn:aws:iam::12345678901:role/r' },
  'arn:aws[-a-z]*:kms:[-a-z0-9]+:[0-9]{12}:key/.+': {
    base: 'arn:aws:kms:us-east-1:123456789012:key/k',
    pad: 'a',
    off: 'arn:aws:kms:US-EAST-1:123456789012:key/k',
  },
  '[A-Za-z0-9\\.\\-_]+': { base: 'a', pad: 'a', off: 'a b' },
  '(?!\\s*$)[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDBFF-\\uDC00\\uDFFF\\t]*': { base: 'a😀', pad: 'a', off: '   ' },
  '[0-9a-zA-Z_]+': { base: 'a', pad: 'a', off: 'a-b' },
  '[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDBFF-\\uDC00\\uDFFF\\t\\r\\n]*': { base: '', pad: 'a', off: 'a\u0001' },
  's3://.+': { base: 's3://b', pad: 'a', off: 'http://b' },
  '[a-z0-9_](([a-z0-9_]+-)*([a-z0-9_]+))?': { base: 'a', pad: 'a', off: 'a-' },
};

const codePoints = (s: string) => [...s].length;

function stringOfLength(shape: RawShape, length: number): string | undefined {
  if (shape.enum) return undefined;
  const p = shape.pattern === undefined ? { base: '', pad: 'a' } : PATTERNS[shape.pattern];
  if (!p) throw new Error(`no sample for pattern ${shape.pattern}: add one to PATTERNS`);
  const baseLen = codePoints(p.base);
  if (length === baseLen) return p.base;
  if (length < baseLen || !p.pad) return undefined;
  return p.base + p.pad.repeat(length - baseLen);
}

function validValue(shapeName: string): unknown {
  const s = S[shapeName]!;
  switch (s.type) {
    case 'string':
      if (s.enum) return s.enum[0];
      return stringOfLength(s, Math.max(s.min ?? 0, s.pattern ? codePoints(PATTERNS[s.pattern]?.base ?? '') : 0, 1)) ?? stringOfLength(s, s.min ?? 0);
    case 'integer':
    case 'long':
      return s.min ?? 1;
    case 'double':
    case 'float':
      return s.min ?? 1.5;
    case 'boolean':
      return true;
    case 'timestamp':
      return new Date();
    case 'list':
      return Array.from({ length: Math.max(s.min ?? 0, 1) }, () => validValue(s.member!.shape));
    case 'map': {
      const n = Math.max(s.min ?? 0, 1);
      return Object.fromEntries(Array.from({ length: n }, (_, i) => [keyOfLength(s.key!.shape, i), validValue(s.value!.shape)]));
    }
    case 'structure':
      return Object.fromEntries((s.required ?? []).map((m) => [m, validValue(s.members![m]!.shape)]));
    default:
      return undefined;
  }
}

function keyOfLength(shapeName: string, i: number): string {
  const s = S[shapeName]!;
  const base = (validValue(shapeName) as string) ?? 'k';
  return i === 0 ? base : stringOfLength(s, codePoints(base) + 1 + (i % 50))?.slice(0, s.max ?? 1000) ?? `${base}${i}`;
}

interface Case {
  op: OperationName;
  path: string;
  /** Path segments: member names, or '#' for the first element of a list. */
  segments: string[];
  shape: string;
}

/** Every member reachable from each operation's input, with its path as AWS names it. */
function cases(): Case[] {
  const out: Case[] = [];
  const walk = (op: OperationName, shapeName: string, segments: string[], path: string, depth: number) => {
    const s = S[shapeName]!;
    if (depth > 8) return;
    if (s.type === 'structure') {
      for (const [m, ref] of Object.entries(s.members ?? {})) {
        const p = path ? `${path}.${m}` : m;
        out.push({ op, path: p, segments: [...segments, m], shape: ref.shape });
        walk(op, ref.shape, [...segments, m], p, depth + 1);
      }
    } else if (s.type === 'list') {
      walk(op, s.member!.shape, [...segments, '#'], `${path}.1.member`, depth + 1);
    }
  };
  for (const op of TRAINING_OPERATIONS) {
    const input = model.operations[op]!.input?.shape;
    if (input) walk(op, input, [], '', 0);
  }
  return out;
}

/** A valid input of `op` with `value` set at the path (creating the structures and lists on the way). */
function inputWith(op: OperationName, c: Case, value: unknown): Record<string, unknown> {
  const root = validValue(model.operations[op]!.input!.shape) as Record<string, unknown>;
  let node: Record<string, unknown> | unknown[] = root;
  let shapeName = model.operations[op]!.input!.shape;
  c.segments.forEach((seg, i) => {
    const last = i === c.segments.length - 1;
    const s = S[shapeName]!;
    const childShape = seg === '#' ? s.member!.shape : s.members![seg]!.shape;
    const key = seg === '#' ? 0 : seg;
    if (last) {
      (node as Record<string | number, unknown>)[key] = value;
      return;
    }
    let child = (node as Record<string | number, unknown>)[key];
    if (child === undefined) {
      child = validValue(childShape);
      (node as Record<string | number, unknown>)[key] = child;
    }
    node = child as Record<string, unknown> | unknown[];
    shapeName = childShape;
  });
  return root;
}

function expectRejected(op: OperationName, input: unknown, path: string, constraint: string) {
  let error: Error | undefined;
  try {
    validateInput(op, input);
  } catch (e) {
    error = e as Error;
  }
  expect(error?.name, `${op} ${path}: expected a ValidationException (${constraint})`).toBe('ValidationException');
  expect(error!.message).toContain(`at '${path}' failed to satisfy constraint: ${constraint}`);
}

function expectAccepted(op: OperationName, input: unknown, what: string) {
  expect(() => validateInput(op, input), `${op} ${what}`).not.toThrow();
}

const all = cases();

describe('validation agrees with the service model', () => {
  it('finds constraints to check', () => {
    expect(all.length).toBeGreaterThan(150);
  });

  it('accepts the minimal valid input of every operation', () => {
    for (const op of TRAINING_OPERATIONS) expectAccepted(op, validValue(model.operations[op]!.input!.shape), 'minimal input');
  });

  it('rejects every missing required member', () => {
    let checked = 0;
    for (const c of all) {
      const parent = c.segments.length === 1 ? model.operations[c.op]!.input!.shape : undefined;
      if (!parent || !(S[parent]!.required ?? []).includes(c.segments[0]!)) continue;
      const input = validValue(parent) as Record<string, unknown>;
      delete input[c.segments[0]!];
      expectRejected(c.op, input, c.path, 'Member must not be null');
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('enforces string lengths at and one past each bound (in characters, not UTF-16 units)', () => {
    let checked = 0;
    for (const c of all) {
      const s = S[c.shape]!;
      if (s.type !== 'string' || s.enum) continue;
      if (s.max !== undefined) {
        const atMax = stringOfLength(s, s.max);
        const over = stringOfLength(s, s.max + 1);
        if (atMax !== undefined) expectAccepted(c.op, inputWith(c.op, c, atMax), `${c.path} at max ${s.max}`);
        if (over !== undefined) {
          expectRejected(c.op, inputWith(c.op, c, over), c.path, `Member must have length less than or equal to ${s.max}`);
          checked++;
        }
      }
      if (s.min !== undefined && s.min > 0) {
        const atMin = stringOfLength(s, s.min);
        const under = s.min - 1 === 0 ? '' : stringOfLength(s, s.min - 1);
        if (atMin !== undefined) expectAccepted(c.op, inputWith(c.op, c, atMin), `${c.path} at min ${s.min}`);
        if (under !== undefined) {
          expectRejected(c.op, inputWith(c.op, c, under), c.path, `Member must have length greater than or equal to ${s.min}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('enforces every pattern, anchored', () => {
    let checked = 0;
    for (const c of all) {
      const s = S[c.shape]!;
      if (s.type !== 'string' || s.pattern === undefined) continue;
      const sample = PATTERNS[s.pattern]!;
      if (sample.off === undefined) continue;
      expectRejected(c.op, inputWith(c.op, c, sample.off), c.path, `Member must satisfy regular expression pattern: ${s.pattern}`);
      // Anchoring: a valid value with junk around it is not valid.
      if (sample.base.length > 0 && !['.*', '[\\S\\s]*'].includes(s.pattern) && sample.off !== '   ') {
        expectRejected(c.op, inputWith(c.op, c, `\n${sample.base}`), c.path, 'Member must satisfy regular expression pattern');
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('enforces numeric ranges at and one past each bound', () => {
    let checked = 0;
    for (const c of all) {
      const s = S[c.shape]!;
      if (!['integer', 'long', 'double', 'float'].includes(s.type)) continue;
      const step = s.type === 'integer' || s.type === 'long' ? 1 : 0.001;
      if (s.max !== undefined) {
        expectAccepted(c.op, inputWith(c.op, c, s.max), `${c.path} = max`);
        expectRejected(c.op, inputWith(c.op, c, s.max + step), c.path, `Member must have value less than or equal to ${s.max}`);
        checked++;
      }
      if (s.min !== undefined) {
        expectAccepted(c.op, inputWith(c.op, c, s.min), `${c.path} = min`);
        expectRejected(c.op, inputWith(c.op, c, s.min - step), c.path, `Member must have value greater than or equal to ${s.min}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('enforces every enum: each value accepted, anything else rejected', () => {
    let checked = 0;
    for (const c of all) {
      const s = S[c.shape]!;
      if (s.type !== 'string' || !s.enum) continue;
      for (const v of s.enum) expectAccepted(c.op, inputWith(c.op, c, v), `${c.path} = ${v}`);
      expectRejected(c.op, inputWith(c.op, c, `${s.enum[0]}x`), c.path, `Member must satisfy enum value set: [${s.enum.join(', ')}]`);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('enforces list and map sizes at and one past each bound', () => {
    let checked = 0;
    for (const c of all) {
      const s = S[c.shape]!;
      if (s.type !== 'list' && s.type !== 'map') continue;
      const make = (n: number): unknown =>
        s.type === 'list'
          ? Array.from({ length: n }, () => validValue(s.member!.shape))
          : Object.fromEntries(Array.from({ length: n }, (_, i) => [`${(validValue(s.key!.shape) as string).slice(0, 1)}${i}`.slice(0, S[s.key!.shape]!.max ?? 100), validValue(s.value!.shape)]));
      if (s.max !== undefined && s.max <= 1000) {
        expectAccepted(c.op, inputWith(c.op, c, make(s.max)), `${c.path} with ${s.max} entries`);
        expectRejected(c.op, inputWith(c.op, c, make(s.max + 1)), c.path, `Member must have length less than or equal to ${s.max}`);
        checked++;
      }
      if (s.min !== undefined && s.min > 0) {
        expectAccepted(c.op, inputWith(c.op, c, make(s.min)), `${c.path} with ${s.min} entries`);
        expectRejected(c.op, inputWith(c.op, c, make(s.min - 1)), c.path, `Member must have length greater than or equal to ${s.min}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('words messages as AWS does, counting every error', () => {
    expect(() => validateInput('CreateConfiguredModelAlgorithm', { name: 'n'.repeat(64), roleArn: 'arn:aws:iam::123456789012:role/r' })).toThrow(
      "1 validation error detected: Value '" + 'n'.repeat(64) + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 63",
    );
    expect(() => validateInput('CreateConfiguredModelAlgorithm', { name: '' })).toThrow(
      /^3 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: .*; Value null at 'roleArn' failed to satisfy constraint: Member must not be null$/,
    );
  });
});
