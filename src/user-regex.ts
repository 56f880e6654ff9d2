import RE2 from 're2';
import { scanPattern } from './regex-scan.js';

/**
 * Regular expressions that users supply (metric definitions, custom data identifiers, filter patterns) run on RE2,
 * which matches in time linear in the line, so no pattern can stall the process on a crafted line the way a
 * backtracking engine does on `(a+)+$`. RE2 reads the Python and Java syntax these patterns are written in,
 * `(?P<name>…)` groups and needless escapes (`\#`, `\_`) included. What it cannot run is refused by name:
 * backreferences, lookahead and lookbehind, atomic groups, possessive quantifiers and conditionals, which only
 * a backtracking engine can match.
 */

export type UserRegex = RE2;

/** Why a pattern cannot run; `constraint` fits "failed to satisfy constraint: …". */
export class UserRegexError extends Error {
  override readonly name = 'UserRegexError';
  readonly constraint: string;
  constructor(
    /** What is wrong, e.g. `missing ): loss=(` or `the backreference \1 is not supported …`. */
    readonly detail: string,
    /** Set when the pattern is valid but uses a construct RE2 cannot run. */
    readonly unsupported?: string,
  ) {
    super(detail);
    this.constraint = unsupported
      ? `Member must be a regular expression without backreferences or lookaround (${detail})`
      : `Member must be a valid regular expression (${detail})`;
  }
}

const WHY = 'patterns are matched in linear time (RE2)';

/** The constructs only a backtracking engine runs, as they are spelled after `(`. */
const GROUP_CONSTRUCTS: [prefix: string, what: string][] = [
  ['(?<=', 'lookbehind'],
  ['(?<!', 'lookbehind'],
  ['(?=', 'lookahead'],
  ['(?!', 'lookahead'],
  ['(?P=', 'backreference'],
  ['(?>', 'atomic group'],
  ['(?(', 'conditional'],
];

/**
 * The pattern in RE2's syntax: Python's and Java's `\Z` (end of input; a log line has no final line terminator)
 * becomes RE2's `\z`. Throws UserRegexError naming the first construct RE2 cannot run.
 */
function toRE2Source(pattern: string): string {
  let out = '';
  for (const piece of scanPattern(pattern, { quoting: true })) {
    const i = piece.at;
    if (piece.kind === 'quoted') out += piece.text;
    else if (piece.kind === 'class-open') out += `[${piece.negated ? '^' : ''}${piece.literalBracket ? ']' : ''}`;
    else if (piece.kind === 'class-close') out += ']';
    else if (piece.kind === 'escape') {
      const next = piece.char;
      if (!piece.inClass && next >= '1' && next <= '9') throw unsupported(`\\${/^\d+/.exec(pattern.slice(i + 1))![0]}`, 'backreference');
      if (!piece.inClass && next === 'k' && '<{\''.includes(pattern[i + 2] ?? '')) throw unsupported(pattern.slice(i, i + 3), 'backreference');
      out += !piece.inClass && next === 'Z' ? '\\z' : `\\${next}`;
    } else if (piece.inClass) out += piece.char;
    else {
      const c = piece.char;
      if (c === '(') {
        const construct = GROUP_CONSTRUCTS.find(([prefix]) => pattern.startsWith(prefix, i));
        if (construct) throw unsupported(construct[0], construct[1]);
      }
      if (c === '+' && i > 0 && isQuantifierEnd(pattern, i - 1)) throw unsupported(pattern.slice(i - 1, i + 1), 'possessive quantifier');
      out += c;
    }
  }
  return out;
}

/** Whether the character at `at` ends a quantifier (`*`, `+`, `?`, `{n,m}`) rather than being escaped or a group's `(?`. */
function isQuantifierEnd(pattern: string, at: number): boolean {
  const c = pattern[at]!;
  let backslashes = 0;
  for (let j = at - 1; j >= 0 && pattern[j] === '\\'; j--) backslashes++;
  if (backslashes % 2 === 1) return false;
  if (c === '*' || c === '+') return true;
  if (c === '?') return pattern[at - 1] !== '(';
  return c === '}' && /\{\d+(?:,\d*)?$/.test(pattern.slice(Math.max(0, at - 24), at));
}

function unsupported(token: string, what: string): UserRegexError {
  return new UserRegexError(`the ${what} ${token} is not supported: ${WHY}`, token);
}

/**
 * Compiles a user's pattern with RE2 (always Unicode-aware, flag `u`; `flags` adds `g`, `i`, `m`, `s`).
 * Throws UserRegexError when it does not compile or needs a backtracking engine.
 */
export function compileUserRegex(pattern: string, flags = ''): UserRegex {
  const source = toRE2Source(pattern);
  try {
    return new RE2(source, flags.includes('u') ? flags : `${flags}u`);
  } catch (e) {
    throw new UserRegexError((e as Error).message, undefined);
  }
}
