import { createHash } from 'node:crypto';
import { ValidationException } from './generated/errors.js';

/**
 * nextToken: opaque to clients, stable across inserts (it names the last record seen by its insertion
 * order, not an offset), and bound to the list it came from so a token from another list is refused.
 */

export const DEFAULT_MAX_RESULTS = 100;

interface TokenBody {
  v: 1;
  /** Which list: a hash of operation and scope. */
  l: string;
  /** Records before this seq come next. */
  s: number;
}

function listKey(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 16);
}

export function encodeNextToken(scope: string, beforeSeq: number): string {
  const body: TokenBody = { v: 1, l: listKey(scope), s: beforeSeq };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeNextToken(scope: string, token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  try {
    const body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as TokenBody;
    if (body.v === 1 && body.l === listKey(scope) && Number.isSafeInteger(body.s) && body.s > 0) return body.s;
  } catch {
    // fall through to the error below
  }
  throw new ValidationException('The nextToken is invalid or was issued for another list.');
}

/** Fetches one page: asks for one record more than needed to know whether a next page exists. */
export function page<T extends { seq: number }>(
  scope: string,
  maxResults: number | undefined,
  nextToken: string | undefined,
  fetch: (beforeSeq: number | undefined, limit: number) => T[],
): { items: T[]; nextToken?: string } {
  const limit = maxResults ?? DEFAULT_MAX_RESULTS;
  const rows = fetch(decodeNextToken(scope, nextToken), limit + 1);
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextToken: encodeNextToken(scope, items[items.length - 1]!.seq) };
}
