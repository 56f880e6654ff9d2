import type { PaginatorMeta } from '../api/generated/model.js';
import { UsageError } from './errors.js';

/**
 * The AWS CLI's pagination of list operations (botocore/paginate.py PageIterator): follow every page,
 * `--page-size` as the limit key, `--max-items` truncating the merged result, and `NextToken`/`--starting-token`
 * in botocore's own format, base64 of Python's json.dumps of {"nextToken": …, "boto_truncate_amount": n}, so a
 * token printed by `aws` works with `crml` and back.
 */

export interface PagingFlags {
  maxItems?: number;
  startingToken?: string;
  pageSize?: number;
}

export interface Paginated {
  /** Each page as returned (the first and last truncated to --starting-token and --max-items). */
  pages: Record<string, unknown>[];
  /** The token to resume from, when --max-items stopped before the end. */
  resumeToken?: string;
}

type Token = Record<string, unknown>;

export async function paginate(
  call: (request: Record<string, unknown>) => Promise<Record<string, unknown>>,
  input: Record<string, unknown>,
  paginator: PaginatorMeta,
  flags: PagingFlags,
): Promise<Paginated> {
  const { input_token: inputToken, output_token: outputToken, result_key: resultKey, limit_key: limitKey } = paginator;
  const request = { ...input };
  let nextToken: Token = { [inputToken]: null };
  let startingTruncation = 0;
  if (flags.startingToken !== undefined) {
    [nextToken, startingTruncation] = parseStartingToken(flags.startingToken, inputToken);
    injectToken(request, nextToken);
  }
  if (flags.pageSize !== undefined) request[limitKey] = flags.pageSize;

  const pages: Record<string, unknown>[] = [];
  let resumeToken: string | undefined;
  let total = 0;
  let first = true;
  let previous: string | undefined;
  for (;;) {
    const page = { ...(await call({ ...request })) };
    if (first) {
      if (flags.startingToken !== undefined) {
        const all = page[resultKey];
        page[resultKey] = Array.isArray(all) || typeof all === 'string' ? all.slice(startingTruncation) : null;
      }
      first = false;
    } else {
      startingTruncation = 0;
    }
    const items = (page[resultKey] ?? []) as unknown[];
    const truncate = flags.maxItems !== undefined ? total + items.length - flags.maxItems : 0;
    if (truncate > 0) {
      const keep = items.length - truncate;
      page[resultKey] = items.slice(0, keep);
      resumeToken = encodeToken({ ...nextToken, boto_truncate_amount: keep + startingTruncation });
      pages.push(page);
      break;
    }
    pages.push(page);
    total += items.length;
    nextToken = { [inputToken]: page[outputToken] || null };
    if (nextToken[inputToken] === null) break;
    if (flags.maxItems !== undefined && total === flags.maxItems) {
      // On a page boundary: the service's own token is where to resume.
      resumeToken = encodeToken(nextToken);
      break;
    }
    const seen = JSON.stringify(nextToken);
    if (seen === previous) throw new Error(`The same next token was received twice: ${seen}`);
    injectToken(request, nextToken);
    previous = seen;
  }
  return { pages, resumeToken };
}

/** build_full_result: the pages' result lists joined, and `NextToken` when truncated. */
export function mergePages(paginated: Paginated, paginator: PaginatorMeta): Record<string, unknown> {
  const full: Record<string, unknown> = {};
  const key = paginator.result_key;
  for (const page of paginated.pages) {
    const value = page[key];
    if (value === null || value === undefined) continue;
    const existing = full[key];
    if (existing === undefined) full[key] = Array.isArray(value) ? [...(value as unknown[])] : value;
    else if (Array.isArray(value)) (existing as unknown[]).push(...(value as unknown[]));
    else if (typeof value === 'number' || typeof value === 'string') full[key] = (existing as string) + (value as string);
  }
  if (paginated.resumeToken !== undefined) full.NextToken = paginated.resumeToken;
  return full;
}

function injectToken(request: Record<string, unknown>, token: Token): void {
  for (const [name, value] of Object.entries(token)) {
    if (value !== null && value !== undefined && value !== 'None') request[name] = value;
    else delete request[name];
  }
}

/** Python's json.dumps (", " and ": " separators, non-ASCII escaped) then base64, as botocore's TokenEncoder. */
function encodeToken(token: Token): string {
  const ascii = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const json = `{${Object.entries(token).map(([k, v]) => `${ascii(k)}: ${typeof v === 'string' ? ascii(v) : JSON.stringify(v ?? null)}`).join(', ')}}`;
  return Buffer.from(json, 'utf8').toString('base64');
}

/** TokenDecoder, with botocore's fallback: a token that is not its base64 JSON is the service's own token. */
function parseStartingToken(raw: string, inputToken: string): [Token, number] {
  try {
    // Python's b64decode drops characters outside the alphabet but insists on padding.
    const cleaned = raw.replace(/[^A-Za-z0-9+/=]/g, '');
    let unpadded = cleaned.length;
    while (unpadded > 0 && cleaned[unpadded - 1] === '=') unpadded--;
    if (unpadded % 4 === 1 || (unpadded < cleaned.length && cleaned.length % 4 !== 0)) throw new Error('padding');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cleaned, 'base64'));
    const decoded = JSON.parse(text) as unknown;
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw new Error('not a map');
    const token = { ...(decoded as Token) };
    let index = 0;
    if ('boto_truncate_amount' in token) {
      index = Number(token.boto_truncate_amount);
      delete token.boto_truncate_amount;
    }
    return [token, index];
  } catch {
    const parts = raw.split('___');
    let index = 0;
    if (parts.length === 2 && /^\s*[+-]?\d+\s*$/.test(parts[1]!)) {
      index = Number(parts.pop());
    } else if (parts.length === 2) {
      parts.splice(0, parts.length, raw);
    }
    if (parts.length > 1) throw new UsageError(`Bad starting token: ${raw}`);
    return [{ [inputToken]: parts[0] === 'None' ? null : parts[0] }, index];
  }
}
