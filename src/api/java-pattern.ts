import { scanPattern } from '../regex-scan.js';

/**
 * The service model's patterns are Java regular expressions, matched against the whole value. This turns one
 * into the source of an anchored JavaScript RegExp (flag `u`, so it works on code points as Java does) that
 * accepts the same strings:
 * - `\uD800\uDBFF-\uDC00\uDFFF` inside a class is the model's idiom for "any supplementary character";
 *   with `u` that is `\u{10000}-\u{10FFFF}`.
 * - Java lets any non-alphanumeric character be escaped (`\#`, `\_`, `\ `); `u` mode allows identity escapes
 *   only for syntax characters, so the needless backslashes go.
 * - Java's `\s` is ASCII whitespace only and `.` excludes Java's line terminators; JavaScript's are wider
 *   or narrower, so both are spelled out.
 * - Java's `$` also matches before a final line terminator.
 */
const SYNTAX = new Set([...'^$\\.*+?()[]{}|/-']);
const JAVA_SPACE = '\\t\\n\\x0B\\f\\r ';
/** Characters JavaScript's `\s` has and Java's does not: Java's `\S` includes them. */
const JS_ONLY_SPACE = '\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF';
const JAVA_LINE_TERMINATOR = '\\n\\r\\u0085\\u2028\\u2029';
const SUPPLEMENTARY_IDIOM = /\\uD800\\uDBFF-\\uDC00\\uDFFF/g;

export function translateJavaPattern(pattern: string): string {
  const src = pattern.replace(SUPPLEMENTARY_IDIOM, '\\u{10000}-\\u{10FFFF}');
  let out = '';
  let inClass = false;
  for (const piece of scanPattern(src)) {
    if (piece.kind === 'escape') {
      const next = piece.char;
      if (next === '') throw new Error(`pattern ends with a lone backslash: ${pattern}`);
      if (next === 's') out += piece.inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (next === 'S') out += piece.inClass ? `\\S${JS_ONLY_SPACE}` : `[\\S${JS_ONLY_SPACE}]`;
      else if ('pPQEGZzAhHvVRX'.includes(next)) throw new Error(`Java construct \\${next} has no translation yet: ${pattern}`);
      else if (/[A-Za-z0-9]/.test(next) || SYNTAX.has(next)) out += `\\${next}`;
      else out += next;
    } else if (piece.kind === 'class-open') {
      inClass = true;
      out += `[${piece.negated ? '^' : ''}${piece.literalBracket ? '\\]' : ''}`;
    } else if (piece.kind === 'class-close') {
      inClass = false;
      out += ']';
    } else if (piece.kind === 'char') {
      const c = piece.char;
      if (piece.inClass) {
        if (c === '[') throw new Error(`nested character classes are not supported: ${pattern}`);
        out += c;
      } else if (c === '.') out += `[^${JAVA_LINE_TERMINATOR}]`;
      else if (c === '$') out += `(?=(?:\\r\\n|[${JAVA_LINE_TERMINATOR}])?$)`;
      else out += c;
    }
  }
  if (inClass) throw new Error(`unterminated character class: ${pattern}`);
  return `^(?:${out})$`;
}

const cache = new Map<string, RegExp>();

/** The anchored RegExp for a model pattern (compiled once). */
export function compileJavaPattern(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(translateJavaPattern(pattern), 'u');
    cache.set(pattern, re);
  }
  return re;
}
