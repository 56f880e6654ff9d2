import { yaml } from './on-demand.js';
import { shapes, type ShapeMeta } from '../api/generated/model.js';

/**
 * `--generate-cli-skeleton`: botocore's ArgumentGenerator over the model's shapes (every member in model order,
 * '' or the first enum value for strings, 0, 0.0, true, a list of one, a map with `KeyName`; a structure met again
 * inside itself is {}). With member names (the `output` skeleton), strings are their member's name.
 */
const EPOCH = '1970-01-01T00:00:00';

export function skeleton(shapeName: string, useMemberNames = false): unknown {
  return generate(shapeName, [], '', useMemberNames);
}

function generate(shapeName: string, stack: string[], name: string, useMemberNames: boolean): unknown {
  const shape = shapes[shapeName];
  stack.push(shapeName);
  try {
    switch (shape?.type) {
      case 'structure': {
        if (stack.filter((s) => s === shapeName).length > 1) return {};
        return Object.fromEntries(Object.entries(shape.members).map(([m, ref]) => [m, generate(ref.shape, stack, m, useMemberNames)]));
      }
      case 'list':
        return [generate(shape.member, stack, useMemberNames ? shape.member : '', useMemberNames)];
      case 'map':
        return { KeyName: generate(shape.value, stack, '', useMemberNames) };
      case 'string':
        if (useMemberNames) return name;
        return shape.enum?.[0] ?? '';
      case 'integer':
      case 'long':
        return 0;
      case 'float':
      case 'double':
        return 0.0;
      case 'boolean':
        return true;
      case 'timestamp':
        return EPOCH;
      default:
        return null;
    }
  } finally {
    stack.pop();
  }
}

/**
 * `--generate-cli-skeleton yaml-input`: the same skeleton as YAML with the AWS CLI's end-of-line comments
 * ([REQUIRED], the valid enum values). The model's documentation is not shipped, so its first sentence is left out.
 */
export function yamlSkeleton(shapeName: string): string {
  const lines: string[] = [];
  emitStructure(shapes[shapeName], [shapeName], 0, lines, false);
  return lines.join('\n');
}

function comment(shape: ShapeMeta | undefined, required: boolean): string {
  const parts: string[] = [];
  if (required) parts.push('[REQUIRED]');
  if (shape?.type === 'string' && shape.enum) parts.push(`Valid values are: ${shape.enum.join(', ')}.`);
  return parts.length > 0 ? ` # ${parts.join(' ')}` : '';
}

function scalarYaml(value: unknown): string {
  if (value === EPOCH) return '1970-01-01 00:00:00';
  if (value === '') return "''";
  if (typeof value === 'number' && !Number.isInteger(value)) return String(value);
  return yaml().stringify(value, { customTags: ['timestamp'], singleQuote: true }).trim();
}

/** One member per line; `listItem` starts the first line with '- ' (a list's one element). */
function emitStructure(shape: ShapeMeta | undefined, stack: string[], indent: number, lines: string[], listItem: boolean): void {
  if (shape?.type !== 'structure') return;
  let first = true;
  for (const [member, ref] of Object.entries(shape.members)) {
    const pad = ' '.repeat(indent) + (listItem ? (first ? '- ' : '  ') : '');
    first = false;
    emitMember(`${pad}${member}:`, ref.shape, shape.required.includes(member), stack, indent + (listItem ? 2 : 0), lines);
  }
}

function emitMember(prefix: string, shapeName: string, required: boolean, stack: string[], indent: number, lines: string[]): void {
  const shape = shapes[shapeName];
  const note = comment(shape, required);
  if (shape?.type === 'structure') {
    if (stack.includes(shapeName) || Object.keys(shape.members).length === 0) {
      lines.push(`${prefix} {}${note}`);
      return;
    }
    lines.push(`${prefix}${note}`);
    emitStructure(shape, [...stack, shapeName], indent + 2, lines, false);
  } else if (shape?.type === 'list') {
    const element = shapes[shape.member];
    if (element?.type === 'structure' && !stack.includes(shape.member) && Object.keys(element.members).length > 0) {
      lines.push(`${prefix}${note}`);
      emitStructure(element, [...stack, shape.member], indent, lines, true);
    } else {
      lines.push(`${prefix}${note}`);
      lines.push(`${' '.repeat(indent)}- ${element?.type === 'structure' ? '{}' : scalarYaml(generate(shape.member, [...stack], '', false))}`);
    }
  } else if (shape?.type === 'map') {
    lines.push(`${prefix}${note}`);
    const value = shapes[shape.value];
    if (value?.type === 'structure' || value?.type === 'list' || value?.type === 'map') {
      emitMember(`${' '.repeat(indent + 2)}KeyName:`, shape.value, false, stack, indent + 2, lines);
    } else {
      lines.push(`${' '.repeat(indent + 2)}KeyName: ${scalarYaml(generate(shape.value, [...stack], '', false))}`);
    }
  } else {
    lines.push(`${prefix} ${scalarYaml(generate(shapeName, [...stack], '', false))}${note}`);
  }
}
