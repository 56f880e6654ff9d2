import { shapes, type ShapeMeta } from './generated/model.js';

/**
 * Renders a stored record as an output shape: keeps only the members the shape defines (so internal
 * bookkeeping and what a view hides never leak), drops absent optionals, and turns stored ISO strings
 * back into Dates where the shape says timestamp. Driven by the model, so every operation shares it.
 */
export function toOutput<T>(shapeName: string, value: unknown): T {
  return rendererOf(shapeName)(value) as T;
}

type Renderer = (value: unknown) => unknown;

/**
 * Each shape's rendering, planned once: a record is then one walk of closures that already know their members,
 * with no model look-up, `Object.entries` of a shape or switch per value (every Get and List renders one).
 */
const planned = new Map<string, Renderer>();

function rendererOf(shapeName: string): Renderer {
  const known = planned.get(shapeName);
  if (known) return known;
  // A shape can contain itself: its entry is in place, forwarding to the real plan, before that plan is made.
  const plan: { real?: Renderer } = {};
  planned.set(shapeName, (v) => plan.real!(v));
  plan.real = planRenderer(shapeName);
  planned.set(shapeName, plan.real);
  return plan.real;
}

function planRenderer(shapeName: string): Renderer {
  const shape = shapes[shapeName] as ShapeMeta | undefined;
  if (!shape) return (value) => (value === null ? undefined : value);
  switch (shape.type) {
    case 'structure': {
      const members = Object.entries(shape.members).map(([name, member]) => ({ name, shape: member.shape, render: undefined as Renderer | undefined }));
      return (value) => {
        if (value === undefined || value === null || typeof value !== 'object') return undefined;
        const out: Record<string, unknown> = {};
        for (const m of members) {
          const v = (m.render ??= rendererOf(m.shape))((value as Record<string, unknown>)[m.name]);
          if (v !== undefined) out[m.name] = v;
        }
        return out;
      };
    }
    case 'list': {
      let item: Renderer | undefined;
      return (value) => {
        if (!Array.isArray(value)) return undefined;
        item ??= rendererOf(shape.member);
        return value.map((v) => item!(v));
      };
    }
    case 'map': {
      let entry: Renderer | undefined;
      return (value) => {
        if (value === undefined || value === null || typeof value !== 'object') return undefined;
        entry ??= rendererOf(shape.value);
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = entry(v);
        return out;
      };
    }
    case 'timestamp':
      return (value) => (value === undefined || value === null ? undefined : value instanceof Date ? value : new Date(String(value)));
    default:
      return (value) => (value === null ? undefined : value);
  }
}
