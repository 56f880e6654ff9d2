import type { ProtocolModel } from './protocol-model.js';

/** A result of routing: an operation to call, one the model has but this runner does not, or no match. */
export type RouteResult =
  | { kind: 'operation'; operation: string; labels: Record<string, string> }
  | { kind: 'unimplemented'; operation: string }
  | { kind: 'methodNotAllowed'; allowed: string[] }
  | { kind: 'badLabel'; label: string }
  | { kind: 'notFound' };

interface Route {
  operation: string;
  method: string;
  implemented: boolean;
  pattern: RegExp;
  labels: string[];
  /** Literal segments before labels: `/a/b` is tried before `/a/{x}`. */
  rank: string;
}

function compile(operation: string, method: string, requestUri: string, implemented: boolean): Route {
  const path = requestUri.split('?')[0]!;
  const labels: string[] = [];
  const segments = path.split('/').map((segment) => {
    const m = /^\{([^}+]+)(\+?)\}$/.exec(segment);
    if (!m) return { source: segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), rank: '0' };
    labels.push(m[1]!);
    // A greedy label spans segments; a plain one stops at `/` (clients send a `/` inside it as %2F).
    return m[2] ? { source: '(.+)', rank: '2' } : { source: '([^/]+)', rank: '1' };
  });
  return {
    operation,
    method,
    implemented,
    pattern: new RegExp(`^${segments.map((s) => s.source).join('/')}$`),
    labels,
    rank: segments.map((s) => s.rank).join(''),
  };
}

/** Routes a request onto the model's URI templates, e.g. `/memberships/{membershipIdentifier}/trained-models/{trainedModelArn}`. */
export class Router {
  private readonly routes: Route[];

  constructor(model: ProtocolModel) {
    const routes = [
      ...Object.entries(model.operations).map(([name, op]) => compile(name, op.method, op.requestUri, true)),
      ...Object.entries(model.unimplemented).map(([name, op]) => compile(name, op.method, op.requestUri, false)),
    ];
    this.routes = routes.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  }

  /** `rawPath` is the path as sent, still percent-encoded: labels are decoded after the split on `/`. */
  route(method: string, rawPath: string): RouteResult {
    const allowed = new Set<string>();
    for (const r of this.routes) {
      const m = r.pattern.exec(rawPath);
      if (!m) continue;
      if (r.method !== method) {
        allowed.add(r.method);
        continue;
      }
      if (!r.implemented) return { kind: 'unimplemented', operation: r.operation };
      const labels: Record<string, string> = {};
      for (const [i, name] of r.labels.entries()) {
        try {
          labels[name] = decodeURIComponent(m[i + 1]!);
        } catch {
          return { kind: 'badLabel', label: name };
        }
      }
      return { kind: 'operation', operation: r.operation, labels };
    }
    return allowed.size > 0 ? { kind: 'methodNotAllowed', allowed: [...allowed].sort() } : { kind: 'notFound' };
  }
}
