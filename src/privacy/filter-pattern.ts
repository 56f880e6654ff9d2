import { compileUserRegex, UserRegexError, type UserRegex } from '../user-regex.js';

/**
 * A logs policy's `filterPattern`, read with CloudWatch Logs filter-pattern semantics for unstructured
 * log events (the pattern language the console's "Filter pattern" box takes):
 * - empty (or only blanks, or `""`): every line matches;
 * - `TERM1 TERM2`: every term must occur (AND); `?TERM1 ?TERM2`: at least one `?` term must occur (OR);
 *   `-TERM`: the line must not contain it. Mixed, a line needs all plain terms, one of the `?` terms (when
 *   there are any), and none of the `-` terms;
 * - `"an exact phrase"` is one term (`\"` inside is a quote); a term may be quoted after `?` or `-`;
 * - terms are case-sensitive and match whole words: `ERROR` matches `[ERROR 400]` but not `ERRORS` or
 *   `UNERROR` (a term's edge that is a letter or digit may not touch another letter or digit);
 * - `%regex%` as the whole pattern: the line matches when the regex is found anywhere. As in CloudWatch,
 *   `(` and `)` are refused and the regex is case-sensitive; it runs with RE2 (src/user-regex.ts), in time
 *   linear in the line (`%a*a*a*a*b%` cannot stall the log reader).
 * JSON patterns (`{ $.x = 1 }`) and space-delimited patterns (`[a, b]`) are not supported locally: they
 * are refused with UnsupportedFilterPatternError.
 */

export class InvalidFilterPatternError extends Error {
  override readonly name: string = 'InvalidFilterPatternError';
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(reason);
  }
}

export class UnsupportedFilterPatternError extends InvalidFilterPatternError {
  override readonly name = 'UnsupportedFilterPatternError';
}

export type LineMatcher = (text: string) => boolean;

interface Term {
  kind: 'all' | 'any' | 'none';
  text: string;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Compiles a filter pattern into a predicate over a line's text; throws InvalidFilterPatternError. */
export function compileFilterPattern(pattern: string | undefined): LineMatcher {
  const src = (pattern ?? '').trim();
  if (src === '' || src === '""') return () => true;
  if (src.startsWith('{')) {
    throw new UnsupportedFilterPatternError(pattern ?? '', 'JSON filter patterns ({ $.field ... }) are not supported by the local runner');
  }
  if (src.startsWith('[')) {
    throw new UnsupportedFilterPatternError(pattern ?? '', 'space-delimited filter patterns ([field, ...]) are not supported by the local runner');
  }
  if (src.length >= 2 && src.startsWith('%') && src.endsWith('%')) return regexMatcher(src.slice(1, -1), src);
  const terms = parseTerms(src);
  const all = terms.filter((t) => t.kind === 'all');
  const any = terms.filter((t) => t.kind === 'any');
  const none = terms.filter((t) => t.kind === 'none');
  return (text) =>
    all.every((t) => containsTerm(text, t.text)) &&
    (any.length === 0 || any.some((t) => containsTerm(text, t.text))) &&
    !none.some((t) => containsTerm(text, t.text));
}

function regexMatcher(body: string, pattern: string): LineMatcher {
  if (body === '') throw new InvalidFilterPatternError(pattern, 'the regular expression between % signs is empty');
  if (/(?<!\\)[()]/.test(body)) {
    throw new InvalidFilterPatternError(pattern, 'parentheses are not supported in filter-pattern regular expressions');
  }
  let re: UserRegex;
  try {
    re = compileUserRegex(body);
  } catch (e) {
    if (!(e instanceof UserRegexError)) throw e;
    throw new InvalidFilterPatternError(pattern, `the regular expression does not compile: ${e.detail}`);
  }
  return (text) => re.test(text);
}

function parseTerms(src: string): Term[] {
  const terms: Term[] = [];
  let i = 0;
  while (i < src.length) {
    while (i < src.length && /\s/.test(src[i]!)) i++;
    if (i >= src.length) break;
    let kind: Term['kind'] = 'all';
    if (src[i] === '?' || src[i] === '-') {
      kind = src[i] === '?' ? 'any' : 'none';
      i++;
    }
    let text = '';
    if (src[i] === '"') {
      i++;
      let closed = false;
      while (i < src.length) {
        const c = src[i]!;
        if (c === '\\' && i + 1 < src.length) {
          text += src[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      if (!closed) throw new InvalidFilterPatternError(src, 'a quoted term is not closed');
    } else {
      while (i < src.length && !/\s/.test(src[i]!)) text += src[i++];
    }
    // A lone `?` or `-` (or an empty phrase) says nothing: CloudWatch ignores it too.
    if (text !== '') terms.push({ kind, text });
  }
  return terms;
}

/** Whether `term` occurs in `text` as a whole word (see the module comment). */
export function containsTerm(text: string, term: string): boolean {
  const startsWord = WORD_CHAR.test(term[0]!);
  const endsWord = WORD_CHAR.test(term[term.length - 1]!);
  for (let at = text.indexOf(term); at !== -1; at = text.indexOf(term, at + 1)) {
    const before = at > 0 ? text[at - 1]! : '';
    const after = text[at + term.length] ?? '';
    if (startsWord && before !== '' && WORD_CHAR.test(before)) continue;
    if (endsWord && after !== '' && WORD_CHAR.test(after)) continue;
    return true;
  }
  return false;
}
