import { operations, shapes, type OperationName, type ShapeMeta } from './generated/model.js';
import { ValidationException } from './generated/errors.js';
import { compileJavaPattern } from './java-pattern.js';

/**
 * Input validation driven by the service model, with AWS's messages:
 * "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must have length
 * less than or equal to 63". Unknown members are ignored, as the service ignores them.
 */

export interface ValidationIssue {
  path: string;
  value: unknown;
  constraint: string;
}

export function validationMessage(issues: readonly ValidationIssue[]): string {
  const parts = issues.map((i) => `Value ${renderValue(i.value)} at '${i.path}' failed to satisfy constraint: ${i.constraint}`);
  return `${issues.length} validation error${issues.length === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}

/** Validates the input of an operation; returns it typed, or throws ValidationException. */
export function validateInput<I>(op: OperationName, input: I): I {
  const shape = operations[op].input;
  const issues: ValidationIssue[] = [];
  if (shape) validateStructureMembers(shape, input ?? {}, '', issues);
  if (issues.length > 0) throw new ValidationException(validationMessage(issues));
  return input;
}

/** Validates any value against a named shape (the HTTP layer and tests use it too). */
export function validateShape(shapeName: string, value: unknown, path: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  validate(shapeName, value, path, issues);
  return issues;
}

function validateStructureMembers(shapeName: string, value: unknown, prefix: string, issues: ValidationIssue[]): void {
  const shape = shapes[shapeName] as Extract<ShapeMeta, { type: 'structure' }>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path: prefix || shapeName, value, constraint: 'Member must be a structure' });
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [name, member] of Object.entries(shape.members)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const v = obj[name];
    if (v === undefined || v === null) {
      if (shape.required.includes(name)) issues.push({ path, value: null, constraint: 'Member must not be null' });
      continue;
    }
    validate(member.shape, v, path, issues);
  }
}

function validate(shapeName: string, value: unknown, path: string, issues: ValidationIssue[]): void {
  const shape = shapes[shapeName];
  if (!shape) return;
  const bad = (constraint: string) => issues.push({ path, value, constraint });
  switch (shape.type) {
    case 'structure':
      validateStructureMembers(shapeName, value, path, issues);
      return;
    case 'string': {
      if (typeof value !== 'string') return void bad('Member must be a string');
      const length = [...value].length;
      if (shape.max !== undefined && length > shape.max) bad(`Member must have length less than or equal to ${shape.max}`);
      if (shape.min !== undefined && length < shape.min) bad(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.pattern !== undefined && !compileJavaPattern(shape.pattern).test(value)) {
        bad(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      }
      if (shape.enum && !shape.enum.includes(value)) bad(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      return;
    }
    case 'integer':
    case 'long':
    case 'double':
    case 'float': {
      const integral = shape.type === 'integer' || shape.type === 'long';
      if (typeof value !== 'number' || !Number.isFinite(value) || (integral && !Number.isInteger(value))) {
        return void bad(integral ? 'Member must be an integer' : 'Member must be a number');
      }
      if (shape.max !== undefined && value > shape.max) bad(`Member must have value less than or equal to ${shape.max}`);
      if (shape.min !== undefined && value < shape.min) bad(`Member must have value greater than or equal to ${shape.min}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') bad('Member must be a boolean');
      return;
    case 'timestamp':
      if (!(value instanceof Date) && typeof value !== 'string' && typeof value !== 'number') bad('Member must be a timestamp');
      return;
    case 'list': {
      if (!Array.isArray(value)) return void bad('Member must be a list');
      if (shape.max !== undefined && value.length > shape.max) bad(`Member must have length less than or equal to ${shape.max}`);
      if (shape.min !== undefined && value.length < shape.min) bad(`Member must have length greater than or equal to ${shape.min}`);
      value.forEach((item, i) => {
        if (item === null || item === undefined) {
          issues.push({ path: `${path}.${i + 1}.member`, value: null, constraint: 'Member must not be null' });
        } else validate(shape.member, item, `${path}.${i + 1}.member`, issues);
      });
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return void bad('Member must be a map');
      const entries = Object.entries(value as Record<string, unknown>);
      if (shape.max !== undefined && entries.length > shape.max) bad(`Member must have length less than or equal to ${shape.max}`);
      if (shape.min !== undefined && entries.length < shape.min) bad(`Member must have length greater than or equal to ${shape.min}`);
      for (const [k, v] of entries) {
        validate(shape.key, k, `${path}.${k}.key`, issues);
        if (v === null || v === undefined) issues.push({ path: `${path}.${k}.value`, value: null, constraint: 'Member must not be null' });
        else validate(shape.value, v, `${path}.${k}.value`, issues);
      }
      return;
    }
    default:
      return;
  }
}

function renderValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return `'${JSON.stringify(value)}'`;
  } catch {
    return `'${String(value)}'`;
  }
}
