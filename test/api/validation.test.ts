import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateInput } from '../../src/api/validation.js';
import { API_OPERATIONS, modelDir, type RawShape } from '../../scripts/generate-api.js';
import type { OperationName } from '../../src/api/generated/model.js';

/**
 * Validation agrees with the service model: every constraint is read from service-2.json at test time (not
 * from our generated files), each operation gets a valid input built from those constraints, and one member
 * at a time is pushed one past its bound (rejected, with AWS's words) and onto it (accepted).
 */

const model = JSON.parse(readFileSync(join(modelDir(), 'cleanroomsml/2023-09-06/service-2.json'), 'utf8')) as {
  shapes: Record<string, RawShape>;
  operations: Record<string, { input?: { shape: string } }>;
};
const S = model.shapes;
const inputShape = (op: OperationName) => model.operations[op]!.input!.shape;

const UUID = '0123abcd-0000-4000-8000-0123456789ab';
const ARN_PREFIX = 'arn:aws:cleanrooms-ml:us-east-1:123456789012';
/**
 * For each pattern of the model: a valid value that stays valid when `pad` is appended, one that does not
 * match (`off`), and whether the pattern takes characters outside the BMP (`astral`). A new pattern in the
 * model fails the test until it gets a line here.
 */
interface PatternSample {
  base: string;
  pad: string;
  off?: string;
  astral?: boolean;
}
const PATTERNS: Record<string, PatternSample> = {
  '[0-9]{12}': { base: '123456789012', pad: '', off: '12345678901a' },
  '.*': { base: '', pad: 'a', off: 'a\nb', astral: true },
  '.+': { base: 'a', pad: 'a', off: 'a\nb', astral: true },
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
    base: `${ARN_PREFIX}:configured-model-algorithm/a`,
    pad: 'a',
    off: `${ARN_PREFIX}:configured-model-algorithm/a b`,
  },
  'arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/configured-model-algorithm-association/[-a-zA-Z0-9_/.]+':
    {
      base: `${ARN_PREFIX}:membership/${UUID}/configured-model-algorithm-association/a`,
      pad: 'a',
      off: `${ARN_PREFIX}:membership/not-a-uuid/configured-model-algorithm-association/a`,
    },
  'arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/ml-input-channel/[-a-zA-Z0-9_/.]+':
    {
      base: `${ARN_PREFIX}:membership/${UUID}/ml-input-channel/a`,
      pad: 'a',
      off: `${ARN_PREFIX}:membership/${UUID}/trained-model/a`,
    },
  'arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/trained-model/[-a-zA-Z0-9_/.]+':
    {
      base: `${ARN_PREFIX}:membership/${UUID}/trained-model/a`,
      pad: 'a',
      off: `${ARN_PREFIX}:membership/${UUID}/ml-input-channel/a`,
    },
  'arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:((membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/(configured-model-algorithm-association|trained-model|trained-model-inference-job|ml-input-channel))|training-dataset|audience-model|configured-audience-model|audience-generation-job|configured-model-algorithm)/[-a-zA-Z0-9_/.]+':
    {
      base: `${ARN_PREFIX}:configured-model-algorithm/a`,
      pad: 'a',
      off: `${ARN_PREFIX}:unknown-thing/a`,
    },
  'arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/trained-model-inference-job/[-a-zA-Z0-9_/.]+':
    {
      base: `${ARN_PREFIX}:membership/${UUID}/trained-model-inference-job/a`,
      pad: 'a',
      off: `${ARN_PREFIX}:membership/${UUID}/trained-model/a`,
    },
  '[a-zA-Z0-9\\_\\#\\=\\@/\\;\\,\\-\\ \\^\\$\\?\\[\\]\\{\\}\\|\\\\\\*\\+\\.\\(\\)]+': { base: 'a#=@/;, ^$?[]{}|\\*+.()_-', pad: 'a', off: 'a%' },
  '[a-zA-Z_][a-zA-Z0-9_]*': { base: 'A', pad: 'a', off: '1A' },
  '[\\S\\s]*': { base: 'a', pad: 'a', astral: true },
  'arn:aws[-a-z]*:iam::[0-9]{12}:role/.+': { base: 'arn:aws:iam::123456789012:role/r', pad: 'a', off: 'arn:aws:iam::12345678901:role/r', astral: true },
  'arn:aws[-a-z]*:kms:[-a-z0-9]+:[0-9]{12}:key/.+': {
    base: 'arn:aws:kms:us-east-1:123456789012:key/k',
    pad: 'a',
    off: 'arn:aws:kms:US-EAST-1:123456789012:key/k',
    astral: true,
  },
  '[A-Za-z0-9\\.\\-_]+': { base: 'a', pad: 'a', off: 'a b' },
  '(?!\\s*$)[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDBFF-\\uDC00\\uDFFF\\t]*': { base: 'a😀', pad: 'a', off: ' \t ', astral: true },
  '[0-9a-zA-Z_]+': { base: 'a', pad: 'a', off: 'a-b' },
  '[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDBFF-\\uDC00\\uDFFF\\t\\r\\n]*': { base: '', pad: 'a', off: 'a\u0001', astral: true },
  's3://.+': { base: 's3://b', pad: 'a', off: 'http://b', astral: true },
  '[a-z0-9_](([a-z0-9_]+-)*([a-z0-9_]+))?': { base: 'a', pad: 'a', off: 'a-' },
};
const NO_PATTERN: PatternSample = { base: '', pad: 'a', astral: true };

const codePoints = (s: string) => [...s].length;
const sample = (s: RawShape): PatternSample => {
  if (s.pattern === undefined) return NO_PATTERN;
  const p = PATTERNS[s.pattern];
  if (!p) throw new Error(`no sample for pattern ${s.pattern}: add one to PATTERNS`);
  return p;
};

/** A valid string of `length` characters for the shape, or undefined when the pattern cannot make one. */
function stringOfLength(s: RawShape, length: number, pad?: string): string | undefined {
  const p = sample(s);
  const baseLen = codePoints(p.base);
  if (length === baseLen) return p.base;
  if (length < baseLen || !p.pad) return undefined;
  return p.base + (pad ?? p.pad).repeat(length - baseLen);
}

/** A small valid value for any shape: only required members, lists and maps at their minimum (at least 1). */
function validValue(shapeName: string): unknown {
  const s = S[shapeName]!;
  switch (s.type) {
    case 'string':
      if (s.enum) return s.enum[0];
      return stringOfLength(s, Math.max(s.min ?? 0, codePoints(sample(s).base), 1)) ?? sample(s).base;
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
    case 'map':
      return distinctEntries(s, Math.max(s.min ?? 0, 1));
    case 'structure':
      return Object.fromEntries((s.required ?? []).map((m) => [m, validValue(s.members![m]!.shape)]));
    default:
      throw new Error(`no valid value for ${shapeName} (${s.type})`);
  }
}

/** `n` entries with distinct valid keys (a valid key plus two letters, which every key pattern allows). */
function distinctEntries(map: RawShape, n: number): Record<string, unknown> {
  const key = validValue(map.key!.shape) as string;
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`${key}${letters[Math.floor(i / 26) % 26]}${letters[i % 26]}`, validValue(map.value!.shape)]),
  );
}

/** Every constraint of a scalar shape, in the order AWS lists them when it names them all. */
function allConstraints(s: RawShape): string[] {
  if (s.enum) return [`Member must satisfy enum value set: [${s.enum.join(', ')}]`];
  const numeric = ['integer', 'long', 'double', 'float'].includes(s.type);
  const word = numeric ? 'value' : 'length';
  return [
    ...(s.max !== undefined ? [`Member must have ${word} less than or equal to ${s.max}`] : []),
    ...(s.min !== undefined ? [`Member must have ${word} greater than or equal to ${s.min}`] : []),
    ...(s.pattern !== undefined ? [`Member must satisfy regular expression pattern: ${s.pattern}`] : []),
  ];
}

/**
 * A place in an operation's input: the member names to it ('#' is the first element of a list), its shape,
 * and how AWS reports a broken constraint there (on the member itself, or summed up on its list or map).
 */
interface Target {
  op: OperationName;
  segments: string[];
  shape: string;
  path: string;
  /** 'element': a scalar element of a list; 'key'/'value': of a map. The path is then the list's or map's. */
  within?: 'element' | 'key' | 'value';
}

function targets(): Target[] {
  const out: Target[] = [];
  const scalar = (name: string) => !['structure', 'list', 'map'].includes(S[name]!.type);
  const walk = (op: OperationName, shapeName: string, segments: string[], path: string) => {
    const s = S[shapeName]!;
    if (s.type === 'structure') {
      for (const [m, ref] of Object.entries(s.members ?? {})) {
        const p = path ? `${path}.${m}` : m;
        out.push({ op, path: p, segments: [...segments, m], shape: ref.shape });
        walk(op, ref.shape, [...segments, m], p);
      }
    } else if (s.type === 'list') {
      const element = s.member!.shape;
      if (scalar(element)) out.push({ op, path, segments: [...segments, '#'], shape: element, within: 'element' });
      else walk(op, element, [...segments, '#'], `${path}.1.member`);
    } else if (s.type === 'map') {
      out.push({ op, path, segments: [...segments, '{key}'], shape: s.key!.shape, within: 'key' });
      if (scalar(s.value!.shape)) out.push({ op, path, segments: [...segments, '{value}'], shape: s.value!.shape, within: 'value' });
      else throw new Error(`map ${shapeName} of non-scalar values: teach this test its paths`);
    }
  };
  for (const op of API_OPERATIONS) walk(op, inputShape(op), [], '');
  return out;
}

/** A valid input of the operation with `value` put at the target (creating what lies on the way). */
function inputWith(t: Target, value: unknown): Record<string, unknown> {
  const root = validValue(inputShape(t.op)) as Record<string, unknown>;
  let node: Record<string | number, unknown> = root;
  let shapeName = inputShape(t.op);
  t.segments.forEach((seg, i) => {
    const s = S[shapeName]!;
    if (seg === '{key}') {
      Object.keys(node).forEach((k) => delete node[k]);
      node[value as string] = validValue(s.value!.shape);
      return;
    }
    if (seg === '{value}') {
      const key = Object.keys(node)[0]!;
      node[key] = value;
      return;
    }
    const childShape = seg === '#' ? s.member!.shape : s.members![seg]!.shape;
    const key = seg === '#' ? 0 : seg;
    const next = t.segments[i + 1];
    if (i === t.segments.length - 1) {
      node[key] = value;
      return;
    }
    if (node[key] === undefined) node[key] = validValue(childShape);
    // Going into a map: start from one valid entry.
    if (next === '{key}' || next === '{value}') node[key] = validValue(childShape);
    node = node[key] as Record<string | number, unknown>;
    shapeName = childShape;
  });
  return root;
}

/** What AWS says when `constraint` is broken at the target. */
function expected(t: Target, constraint: string): { path: string; constraint: string } {
  const all = allConstraints(S[t.shape]!).join(', ');
  switch (t.within) {
    case 'element':
      return { path: t.path, constraint: `Member must satisfy constraint: [${all}]` };
    case 'key':
      return { path: t.path, constraint: `Map keys must satisfy constraint: [${all}]` };
    case 'value':
      return { path: t.path, constraint: `Map value must satisfy constraint: [${all}]` };
    default:
      return { path: t.path, constraint };
  }
}

function errorOf(op: OperationName, input: unknown): Error | undefined {
  try {
    validateInput(op, input);
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

function expectRejected(t: Target, value: unknown, constraint: string) {
  const want = expected(t, constraint);
  const error = errorOf(t.op, inputWith(t, value));
  expect(error?.name, `${t.op} ${t.path}${t.within ? ` (${t.within})` : ''}: expected a ValidationException (${constraint})`).toBe(
    'ValidationException',
  );
  expect(error!.message).toMatch(/^1 validation error detected: Value /);
  expect(error!.message).toContain(`at '${want.path}' failed to satisfy constraint: ${want.constraint}`);
}

function expectAccepted(t: Target, value: unknown, what: string) {
  const error = errorOf(t.op, inputWith(t, value));
  expect(error?.message, `${t.op} ${t.path}${t.within ? ` (${t.within})` : ''} ${what}`).toBeUndefined();
}

const all = targets();
const ofType = (...types: string[]) => all.filter((t) => types.includes(S[t.shape]!.type));

describe('validation agrees with the service model', () => {
  it('finds the constraints of every training operation', () => {
    expect(new Set(all.map((t) => t.op)).size).toBe(API_OPERATIONS.length);
    expect(all.length).toBeGreaterThan(150);
  });

  it('accepts a valid input of every operation built from the model', () => {
    for (const op of API_OPERATIONS) expect(() => validateInput(op, validValue(inputShape(op))), op).not.toThrow();
  });

  it('rejects every missing required member, at any depth', () => {
    let checked = 0;
    for (const t of all) {
      if (t.within) continue;
      const parentShape = t.segments.slice(0, -1).reduce((shape, seg) => (seg === '#' ? S[shape]!.member!.shape : S[shape]!.members![seg]!.shape), inputShape(t.op));
      const member = t.segments[t.segments.length - 1]!;
      if (!(S[parentShape]!.required ?? []).includes(member)) continue;
      for (const absent of [undefined, null]) {
        const error = errorOf(t.op, inputWith(t, absent));
        expect(error?.message, `${t.op} ${t.path} = ${absent}`).toContain(`Value null at '${t.path}' failed to satisfy constraint: Member must not be null`);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('enforces string lengths at and one past each bound, counting characters rather than UTF-16 units', () => {
    let checked = 0;
    for (const t of ofType('string')) {
      const s = S[t.shape]!;
      if (s.enum) continue;
      const astral = sample(s).astral ? '😀' : undefined;
      if (s.max !== undefined) {
        const atMax = stringOfLength(s, s.max);
        if (atMax !== undefined) expectAccepted(t, atMax, `at max ${s.max}`);
        const astralAtMax = astral && stringOfLength(s, s.max, astral);
        if (astralAtMax) expectAccepted(t, astralAtMax, `at max ${s.max} in astral characters`);
        const over = stringOfLength(s, s.max + 1);
        if (over !== undefined) {
          expectRejected(t, over, `Member must have length less than or equal to ${s.max}`);
          checked++;
        }
      }
      if (s.min !== undefined && s.min > 0) {
        const atMin = stringOfLength(s, s.min);
        if (atMin !== undefined) expectAccepted(t, atMin, `at min ${s.min}`);
        const under = s.min === 1 ? '' : stringOfLength(s, s.min - 1);
        if (under !== undefined) {
          const error = errorOf(t.op, inputWith(t, under));
          const want = expected(t, `Member must have length greater than or equal to ${s.min}`);
          expect(error?.message, `${t.op} ${t.path} under min`).toContain(`at '${want.path}' failed to satisfy constraint: ${want.constraint}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(80);
  });

  it('enforces every pattern on the whole value', () => {
    let checked = 0;
    for (const t of ofType('string')) {
      const s = S[t.shape]!;
      if (s.pattern === undefined) continue;
      const p = sample(s);
      if (p.off !== undefined) {
        expectRejected(t, p.off, `Member must satisfy regular expression pattern: ${s.pattern}`);
        checked++;
      }
      // Anchored: a valid value with a line break before it no longer matches (unless the pattern takes any text).
      if (p.base.length > 0 && !['.*', '[\\S\\s]*'].includes(s.pattern) && !(s.max !== undefined && codePoints(p.base) + 1 > s.max)) {
        const error = errorOf(t.op, inputWith(t, `\n${p.base}`));
        expect(error?.message, `${t.op} ${t.path} anchoring`).toContain(`at '${t.path}' failed to satisfy constraint`);
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('enforces numeric ranges at and one past each bound', () => {
    let checked = 0;
    for (const t of ofType('integer', 'long', 'double', 'float')) {
      const s = S[t.shape]!;
      const step = s.type === 'integer' || s.type === 'long' ? 1 : 0.001;
      if (s.max !== undefined) {
        expectAccepted(t, s.max, `= max ${s.max}`);
        expectRejected(t, s.max + step, `Member must have value less than or equal to ${s.max}`);
        checked++;
      }
      if (s.min !== undefined) {
        expectAccepted(t, s.min, `= min ${s.min}`);
        expectRejected(t, s.min - step, `Member must have value greater than or equal to ${s.min}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('accepts every listed enum value and rejects anything else', () => {
    let checked = 0;
    for (const t of ofType('string')) {
      const s = S[t.shape]!;
      if (!s.enum) continue;
      for (const v of s.enum) expectAccepted(t, v, `= ${v}`);
      expectRejected(t, `${s.enum[0]}x`, `Member must satisfy enum value set: [${s.enum.join(', ')}]`);
      expectRejected(t, s.enum[0]!.toLowerCase() === s.enum[0] ? s.enum[0]!.toUpperCase() : s.enum[0]!.toLowerCase(), `Member must satisfy enum value set`);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('enforces list and map sizes at and one past each bound', () => {
    let checked = 0;
    for (const t of ofType('list', 'map')) {
      const s = S[t.shape]!;
      const make = (n: number): unknown => (s.type === 'list' ? Array.from({ length: n }, () => validValue(s.member!.shape)) : distinctEntries(s, n));
      if (s.max !== undefined) {
        expectAccepted(t, make(s.max), `with ${s.max} entries`);
        expectRejected(t, make(s.max + 1), `Member must have length less than or equal to ${s.max}`);
        checked++;
      }
      if (s.min !== undefined && s.min > 0) {
        expectAccepted(t, make(s.min), `with ${s.min} entries`);
        expectRejected(t, make(s.min - 1), `Member must have length greater than or equal to ${s.min}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('names the member when a value has the wrong JSON type', () => {
    const wrong: Record<string, { value: unknown; words: string }> = {
      string: { value: 5, words: 'Member must be a string' },
      integer: { value: '5', words: 'Member must be an integer' },
      long: { value: '5', words: 'Member must be an integer' },
      double: { value: '5', words: 'Member must be a number' },
      boolean: { value: 'true', words: 'Member must be a boolean' },
      list: { value: 'x', words: 'Member must be a list' },
      map: { value: 'x', words: 'Member must be a map' },
      structure: { value: 'x', words: 'Member must be a structure' },
    };
    let checked = 0;
    for (const t of all) {
      const s = S[t.shape]!;
      const w = wrong[s.type];
      if (!w || t.within || s.enum) continue;
      const error = errorOf(t.op, inputWith(t, w.value));
      expect(error?.message, `${t.op} ${t.path}`).toContain(`at '${t.path}' failed to satisfy constraint: ${w.words}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('validation messages', () => {
  const role = 'arn:aws:iam::123456789012:role/r';

  it('words one error as AWS does', () => {
    expect(() => validateInput('CreateConfiguredModelAlgorithm', { name: 'n'.repeat(64), roleArn: role })).toThrow(
      `1 validation error detected: Value '${'n'.repeat(64)}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 63`,
    );
  });

  it('counts every error and joins them with "; "', () => {
    const error = errorOf('CreateConfiguredModelAlgorithm', { name: '' });
    expect(error?.message).toBe(
      "3 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        "Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!\\s*$)[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDBFF-\\uDC00\\uDFFF\\t]*; " +
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
    );
  });

  it('writes paths into lists of structures as AWS does, and quotes numbers', () => {
    const error = errorOf('CreateTrainedModel', {
      membershipIdentifier: UUID,
      name: 'm',
      configuredModelAlgorithmAssociationArn: `${ARN_PREFIX}:membership/${UUID}/configured-model-algorithm-association/a`,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 0 },
      dataChannels: [
        { mlInputChannelArn: `${ARN_PREFIX}:membership/${UUID}/ml-input-channel/a`, channelName: 'train' },
        { mlInputChannelArn: `${ARN_PREFIX}:membership/${UUID}/ml-input-channel/b`, channelName: 'a b' },
      ],
    });
    expect(error?.message).toBe(
      "2 validation errors detected: Value '0' at 'resourceConfig.volumeSizeInGB' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value 'a b' at 'dataChannels.2.member.channelName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\.\\-_]+",
    );
  });

  it('sums up bad list elements and map entries on the list or map, naming all their constraints', () => {
    expect(errorOf('UntagResource', { resourceArn: `${ARN_PREFIX}:configured-model-algorithm/a`, tagKeys: ['a', ''] })?.message).toBe(
      "1 validation error detected: Value '[a, ]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: " +
        '[Member must have length less than or equal to 128, Member must have length greater than or equal to 1]',
    );
    expect(errorOf('CreateConfiguredModelAlgorithm', { name: 'a', roleArn: role, tags: { '': 'v' } })?.message).toBe(
      "1 validation error detected: Value '{=v}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: " +
        '[Member must have length less than or equal to 128, Member must have length greater than or equal to 1]',
    );
  });

  it('counts length in characters: 63 emoji make a valid name', () => {
    expect(validateInput('CreateConfiguredModelAlgorithm', { name: '😀'.repeat(63), roleArn: role }).name).toBe('😀'.repeat(63));
  });

  it('drops members the model does not know and treats null as absent, without touching the input', () => {
    const input = { name: 'a', roleArn: role, description: null, somethingElse: 1 };
    const valid = validateInput('CreateConfiguredModelAlgorithm', input);
    expect(valid).toEqual({ name: 'a', roleArn: role });
    expect(input).toEqual({ name: 'a', roleArn: role, description: null, somethingElse: 1 });
  });

  it('leaves out values the model marks sensitive, and values inside them', () => {
    const error = errorOf('CreateMLInputChannel', {
      membershipIdentifier: UUID,
      configuredModelAlgorithmAssociations: [`${ARN_PREFIX}:membership/${UUID}/configured-model-algorithm-association/a`],
      name: 'c',
      retentionInDays: 1,
      inputChannel: { roleArn: role, dataSource: { protectedQueryInputParameters: { sqlParameters: { parameters: { 'bad-name': 'v' } } } } },
    });
    expect(error?.message).toBe(
      "1 validation error detected: Value at 'inputChannel.dataSource.protectedQueryInputParameters.sqlParameters.parameters' failed to satisfy constraint: " +
        'Map keys must satisfy constraint: [Member must have length less than or equal to 100, Member must have length greater than or equal to 1, ' +
        'Member must satisfy regular expression pattern: [0-9a-zA-Z_]+]',
    );
  });
});
