import { operations, shapes, type OperationName } from '../api/generated/model.js';
import { kebabName } from './names.js';

/** `crml train`'s example: build the linear-regression example offline and train it on its data. */
export const TRAIN_EXAMPLE =
  "crml train --build examples/algorithms/linear-regression --channel train=examples/algorithms/linear-regression/data/train --hyperparameters epochs=20 --metric 'train_loss=train_loss=([0-9.]+)'";

/**
 * An example line for an API command's help, made from the model's required members (the membership is left out:
 * the CLI fills in the default one). Scalars are placeholders, structures and lists JSON of their required members.
 */
export function operationExample(name: OperationName): string {
  const op = operations[name];
  const input = op.input ? shapes[op.input] : undefined;
  const parts = [`crml ${kebabName(name)}`];
  if (input?.type === 'structure') {
    for (const member of input.required) {
      if (member === 'membershipIdentifier') continue;
      const ref = input.members[member]!;
      const shape = shapes[ref.shape];
      const value = shape?.type === 'structure' || shape?.type === 'list' || shape?.type === 'map'
        ? `'${JSON.stringify(sample(ref.shape, member, []))}'`
        : placeholder(ref.shape, member);
      parts.push(`--${kebabName(member)} ${value}`);
    }
  }
  return parts.join(' ');
}

function placeholder(shapeName: string, member: string): string {
  const shape = shapes[shapeName];
  if (shape?.type === 'string' && shape.enum) return shape.enum[0]!;
  if (shape?.type === 'integer' || shape?.type === 'long') return String(Math.max(1, shape.min ?? 1));
  return `<${kebabName(member)}>`;
}

function sample(shapeName: string, member: string, stack: string[]): unknown {
  const shape = shapes[shapeName];
  if (stack.includes(shapeName)) return {};
  switch (shape?.type) {
    case 'structure':
      return Object.fromEntries(shape.required.map((m) => [m, sample(shape.members[m]!.shape, m, [...stack, shapeName])]));
    case 'list':
      return [sample(shape.member, member, [...stack, shapeName])];
    case 'map':
      return { key: sample(shape.value, 'value', [...stack, shapeName]) };
    case 'integer':
    case 'long':
      return Math.max(1, shape.min ?? 1);
    case 'double':
    case 'float':
      return shape.min ?? 1;
    case 'boolean':
      return true;
    default:
      return placeholder(shapeName, member);
  }
}
