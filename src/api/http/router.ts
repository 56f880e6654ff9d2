import { operations, type OperationName } from '../generated/model.js';

/** Routes from the model's URI templates: `/memberships/{membershipIdentifier}/trained-models/{trainedModelArn}`. */
interface Route {
  operation: OperationName;
  method: string;
  pattern: RegExp;
  labels: string[];
  /** Fewer labels first: a literal segment beats a label. */
  specificity: number;
}

export interface RouteMatch {
  operation: OperationName;
  labels: Record<string, string>;
}

function compile(operation: OperationName): Route {
  const { method, requestUri } = operations[operation];
  const path = requestUri.split('?')[0]!;
  const labels: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const m = /^\{([^}+]+)(\+?)\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      labels.push(m[1]!);
      return m[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { operation, method, pattern: new RegExp(`^${source}$`), labels, specificity: labels.length };
}

const routes = (Object.keys(operations) as OperationName[]).map(compile).sort((a, b) => a.specificity - b.specificity);

export type RouteResult = { match: RouteMatch } | { methodNotAllowed: string[] } | { notFound: true };

/** `rawPath` is the path as sent (still percent-encoded): labels are decoded after the split on `/`. */
export function route(method: string, rawPath: string): RouteResult {
  const allowed: string[] = [];
  for (const r of routes) {
    const m = r.pattern.exec(rawPath);
    if (!m) continue;
    if (r.method !== method) {
      allowed.push(r.method);
      continue;
    }
    const labels: Record<string, string> = {};
    try {
      r.labels.forEach((name, i) => (labels[name] = decodeURIComponent(m[i + 1]!)));
    } catch {
      return { notFound: true };
    }
    return { match: { operation: r.operation, labels } };
  }
  return allowed.length > 0 ? { methodNotAllowed: allowed } : { notFound: true };
}
