/**
 * The service model's patterns are Java regular expressions. This turns one into an anchored JavaScript
 * RegExp with the `u` flag that accepts exactly the same strings:
 * - `\uD800\uDBFF-\uDC00\uDFFF` is the model's way of saying "any supplementary character" (a high surrogate
 *   followed by a low one, as Java matches UTF-16); with `u` that is `\u{10000}-\u{10FFFF}`.
 * - Java lets any non-alphanumeric character be escaped (`\#`, `\_`, `\ `); JavaScript's `u` mode allows
 *   identity escapes only for syntax characters, so the needless backslashes go.
 * - Java's `matches()` tests the whole string: the result is anchored.
 */
const SYNTAX = new Set([...'^$\\.*+?()[]{}|/-']);

export function translateJavaPattern(pattern: string): string {
  const supplementary = pattern.replace(/\\uD800\\uDBFF-\\uDC00\\uDFFF/g, '\\u{10000}-\\u{10FFFF}');
  let out = '';
  for (let i = 0; i < supplementary.length; i++) {
    const c = supplementary[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = supplementary[i + 1];
    if (next === undefined) {
      out += c;
      continue;
    }
    out += /[A-Za-z0-9]/.test(next) || SYNTAX.has(next) ? `\\${next}` : next;
    i += 1;
  }
  return out;
}

const cache = new Map<string, RegExp>();

export function compileJavaPattern(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${translateJavaPattern(pattern)})$`, 'u');
    cache.set(pattern, re);
  }
  return re;
}
