/**
 * A left-to-right scan of a regular expression's source, as the Java and Python dialects read it: escapes,
 * character classes (a `]` right after `[` or `[^` is a literal) and `\Q…\E` quoting. The two translators of
 * patterns (the model's Java patterns into JavaScript, users' patterns into RE2) walk these pieces instead of
 * each keeping its own copy of the scanning rules.
 */
export type PatternPiece =
  /** `\` and the character after it (`char` is '' for a lone backslash at the end). */
  | { kind: 'escape'; char: string; inClass: boolean; at: number }
  /** `[` or `[^`, with `literalBracket` when a `]` follows at once (it is then part of the class). */
  | { kind: 'class-open'; negated: boolean; literalBracket: boolean; at: number }
  | { kind: 'class-close'; at: number }
  /** `\Q…\E` (or to the end), verbatim. */
  | { kind: 'quoted'; text: string; at: number }
  | { kind: 'char'; char: string; inClass: boolean; at: number };

export interface ScanOptions {
  /** Whether `\Q…\E` quotes (Java and RE2 read it; JavaScript does not). */
  quoting?: boolean;
}

export function* scanPattern(pattern: string, options: ScanOptions = {}): Generator<PatternPiece> {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (options.quoting && next === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const stop = end === -1 ? pattern.length : end + 2;
        yield { kind: 'quoted', text: pattern.slice(i, stop), at: i };
        i = stop - 1;
        continue;
      }
      yield { kind: 'escape', char: next, inClass, at: i };
      i += 1;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        yield { kind: 'class-close', at: i };
      } else yield { kind: 'char', char: c, inClass, at: i };
      continue;
    }
    if (c === '[') {
      const at = i;
      const negated = pattern[i + 1] === '^';
      if (negated) i += 1;
      const literalBracket = pattern[i + 1] === ']';
      if (literalBracket) i += 1;
      inClass = true;
      yield { kind: 'class-open', negated, literalBracket, at };
      continue;
    }
    yield { kind: 'char', char: c, inClass, at: i };
  }
}
