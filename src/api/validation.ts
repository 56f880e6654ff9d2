import type { z } from 'zod';
import { operations, shapes, type OperationName, type ShapeMeta } from './generated/model.js';
import { operationInputSchemas, shapeSchemas } from './generated/schemas.js';
import type { OperationInputs } from './generated/types.js';
import { ValidationException } from './generated/errors.js';

/**
 * Input validation with the generated zod schemas, worded as AWS (Coral) words it:
 * "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must have length
 * less than or equal to 63". Members the model does not know are dropped, as the service ignores them; a
 * member sent as JSON null counts as absent.
 */

export interface ValidationIssue {
  /** The member path as AWS writes it: `resourceConfig.instanceType`, `dataChannels.1.member.channelName`. */
  path: string;
  value: unknown;
  /** AWS's constraint words, e.g. `Member must not be null`. */
  constraint: string;
  /** The model marks the value sensitive: the message leaves it out ("Value at 'x' ..."). */
  sensitive?: boolean;
}

/** "N validation error(s) detected: A; B": the one formatter for every validation message. */
export function validationMessage(issues: readonly ValidationIssue[]): string {
  const parts = issues.map((i) => {
    const value = i.sensitive && i.value !== null && i.value !== undefined ? 'Value' : `Value ${renderValue(i.value)}`;
    return `${value} at '${i.path}' failed to satisfy constraint: ${i.constraint}`;
  });
  return `${issues.length} validation error${issues.length === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}

/** The ValidationException for some issues (the HTTP layer uses it for what it finds on the wire). */
export function validationException(issues: readonly ValidationIssue[]): ValidationException {
  return new ValidationException(validationMessage(issues));
}

/** Validates an operation's input: returns it typed (unknown members dropped), or throws ValidationException. */
export function validateInput<N extends OperationName>(op: N, input: unknown): OperationInputs[N] {
  const key = flatKey(op, input);
  if (key !== undefined) {
    const known = validFlatInputs.get(key);
    if (known) return { ...known } as unknown as OperationInputs[N];
  }
  const valid = validateFresh(op, input);
  if (key !== undefined && isFlat(valid)) {
    if (validFlatInputs.size >= MAX_REMEMBERED) validFlatInputs.clear();
    validFlatInputs.set(key, { ...(valid as Record<string, string>) });
  }
  return valid;
}

/**
 * Inputs of only strings (a Get's ARN and ids, as the endpoint sends them every call) that passed, remembered:
 * validation is a pure function of the operation and the input, so the same input passes again without zod.
 * Only successes are kept, so every error is worded by the full validation; bounded, and copied in and out.
 */
const validFlatInputs = new Map<string, Record<string, string>>();
const MAX_REMEMBERED = 1024;

function isFlat(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const k in value) if (typeof (value as Record<string, unknown>)[k] !== 'string') return false;
  return true;
}

function flatKey(op: string, input: unknown): string | undefined {
  return isFlat(input) ? `${op} ${JSON.stringify(input)}` : undefined;
}

function validateFresh<N extends OperationName>(op: N, input: unknown): OperationInputs[N] {
  const shapeName = (operations[op] as { input?: string }).input;
  // Built on first use: only this operation's schemas (and the shapes they reach) are ever made.
  const schema = operationInputSchemas[op]() as z.ZodType<OperationInputs[N]>;
  const refused: ValidationIssue[] = [];
  const value = shapeName ? withoutNulls(shapeName, input ?? {}, '', refused) : (input ?? {});
  if (refused.length > 0) throw validationException(refused);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationException(toValidationIssues(shapeName, value, result.error.issues));
}

/** The issues of a value against a named shape, paths starting at `path` (empty: none found). */
export function validateShape(shapeName: string, value: unknown, path = ''): ValidationIssue[] {
  const schemaOf = shapeSchemas[shapeName];
  if (!schemaOf) throw new Error(`unknown shape ${shapeName}`);
  const schema = schemaOf();
  const refused: ValidationIssue[] = [];
  const cleaned = withoutNulls(shapeName, value, path, refused);
  if (refused.length > 0) return refused;
  const result = schema.safeParse(cleaned);
  if (result.success) return [];
  return toValidationIssues(shapeName, cleaned, result.error.issues).map((i) => ({
    ...i,
    path: path && i.path ? `${path}.${i.path}` : path || i.path,
  }));
}

/**
 * A copy with null-valued structure members removed: JSON null is how a client says "not set". A map key
 * `__proto__` is put in `refused`: a JavaScript object cannot carry it faithfully (zod and plain objects drop it
 * or make it the prototype), and dropping it silently would lose what the caller sent (decided). Such a key in a
 * structure is an unknown member, dropped like any other (and never made the copy's prototype).
 */
function withoutNulls(shapeName: string, value: unknown, path: string, refused: ValidationIssue[]): unknown {
  const shape = shapes[shapeName];
  if (!shape || value === null || typeof value !== 'object' || value instanceof Date || value instanceof Uint8Array) return value;
  const at = (k: string | number) => (path ? `${path}.${k}` : String(k));
  switch (shape.type) {
    case 'structure': {
      if (Array.isArray(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v === null || k === '__proto__') continue;
        const member = shape.members[k];
        out[k] = member ? withoutNulls(member.shape, v, at(k), refused) : v;
      }
      return out;
    }
    case 'list':
      return Array.isArray(value) ? value.map((v, i) => withoutNulls(shape.member, v, `${at(i + 1)}.member`, refused)) : value;
    case 'map':
      if (Array.isArray(value)) return value;
      if (Object.hasOwn(value, '__proto__')) {
        refused.push({ path: path || shapeName, value: '__proto__', constraint: "Map keys must not be '__proto__' (cleanrooms-ml-local cannot keep it)" });
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNulls(shape.value, v, at(k), refused)]));
    default:
      return value;
  }
}

const SCALAR_TYPES = new Set(['string', 'integer', 'long', 'double', 'float', 'boolean', 'timestamp', 'blob']);
const isScalar = (shape: ShapeMeta | undefined) => shape !== undefined && SCALAR_TYPES.has(shape.type);

/**
 * Every constraint of a scalar shape, in Coral's order, for the messages that name them all at once:
 * "Member must satisfy constraint: [...]" (an element of a list), "Map keys/value must satisfy constraint: [...]".
 */
function constraintsOf(shape: ShapeMeta): string[] {
  const out: string[] = [];
  if (shape.type === 'string' && shape.enum) return [`Member must satisfy enum value set: [${shape.enum.join(', ')}]`];
  if (shape.type === 'string') {
    if (shape.max !== undefined) out.push(`Member must have length less than or equal to ${shape.max}`);
    if (shape.min !== undefined) out.push(`Member must have length greater than or equal to ${shape.min}`);
    if (shape.pattern !== undefined) out.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
  } else if (shape.type === 'integer' || shape.type === 'long' || shape.type === 'double' || shape.type === 'float') {
    if (shape.max !== undefined) out.push(`Member must have value less than or equal to ${shape.max}`);
    if (shape.min !== undefined) out.push(`Member must have value greater than or equal to ${shape.min}`);
  }
  return out;
}

/**
 * Turns zod's issues into AWS's: zod's path (keys and array indexes) becomes AWS's member path, a
 * constraint broken by an element of a list of scalars is reported once on the list, and one broken by a
 * map's key or value once on the map, with all the element's constraints, as Coral does.
 */
function toValidationIssues(rootShape: string | undefined, root: unknown, issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  const push = (issue: ValidationIssue) => {
    const key = `${issue.path}\u0000${issue.constraint}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(issue);
  };
  for (const issue of issues) {
    const missing = issue.message === 'Member must not be null';
    const typeError = issue.code === 'invalid_type';
    let shapeName = rootShape;
    let value: unknown = root;
    const parts: string[] = [];
    let reported = false;
    // A value inside a sensitive shape is sensitive too.
    let sensitive = rootShape ? shapes[rootShape]?.sensitive === true : false;
    for (let i = 0; i < issue.path.length; i++) {
      const seg = issue.path[i]!;
      const shape = shapeName ? shapes[shapeName] : undefined;
      sensitive ||= shape?.sensitive === true;
      const here = parts.join('.');
      const last = i === issue.path.length - 1;
      if (shape?.type === 'list' && typeof seg === 'number') {
        const element = shapes[shape.member];
        if (isScalar(element) && !typeError && !missing && constraintsOf(element!).length > 0) {
          push({ path: here, value, constraint: `Member must satisfy constraint: [${constraintsOf(element!).join(', ')}]`, sensitive });
          reported = true;
          break;
        }
        parts.push(String(seg + 1), 'member');
        shapeName = shape.member;
      } else if (shape?.type === 'map') {
        const keyProblem = last && issue.code === 'invalid_key';
        const target = keyProblem ? shapes[shape.key] : shapes[shape.value];
        if (isScalar(target) && !typeError && !missing && constraintsOf(target!).length > 0) {
          const what = keyProblem ? 'Map keys' : 'Map value';
          push({ path: here, value, constraint: `${what} must satisfy constraint: [${constraintsOf(target!).join(', ')}]`, sensitive });
          reported = true;
          break;
        }
        parts.push(String(seg));
        shapeName = keyProblem ? shape.key : shape.value;
        if (keyProblem) {
          value = seg;
          continue;
        }
      } else {
        parts.push(String(seg));
        shapeName = shape?.type === 'structure' ? shape.members[String(seg)]?.shape : undefined;
      }
      value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
    }
    if (reported) continue;
    push({
      path: parts.join('.') || rootShape || '',
      value: missing ? null : value,
      constraint: issue.message,
      sensitive: sensitive || (shapeName ? shapes[shapeName]?.sensitive === true : false),
    });
  }
  return out;
}

/** Values as Coral shows them: quoted, lists as `[a, b]`, maps and structures as `{k=v}`. */
function renderValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return `'${plain(value)}'`;
}

function plain(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map(plain).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${plain(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}
