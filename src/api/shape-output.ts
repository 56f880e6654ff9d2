import { shapes, type ShapeMeta } from './generated/model.js';

/**
 * Renders a stored record as an output shape: keeps only the members the shape defines (so internal
 * bookkeeping and what a view hides never leak), drops absent optionals, and turns stored ISO strings
 * back into Dates where the shape says timestamp. Driven by the model, so every operation shares it.
 */
export function toOutput<T>(shapeName: string, value: unknown): T {
  return render(shapeName, value) as T;
}

function render(shapeName: string, value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  const shape = shapes[shapeName] as ShapeMeta | undefined;
  if (!shape) return value;
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object') return undefined;
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members)) {
        const v = render(member.shape, (value as Record<string, unknown>)[name]);
        if (v !== undefined) out[name] = v;
      }
      return out;
    }
    case 'list':
      return Array.isArray(value) ? value.map((v) => render(shape.member, v)) : undefined;
    case 'map': {
      if (typeof value !== 'object') return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = render(shape.value, v);
      return out;
    }
    case 'timestamp':
      return value instanceof Date ? value : new Date(String(value));
    default:
      return value;
  }
}
