/**
 * A statement's text without what may follow its last token: `;`s, whitespace and comments. `COPY (…) TO`
 * needs the bare SELECT, and a `;` left inside the parenthesis would be a parser error in our text, not the user's.
 *
 * One pass over the text, character by character (linear, whatever the input): strings, quoted identifiers,
 * dollar-quoted strings and comments (nested, as DuckDB's parser reads them) are stepped over whole, so a `;` or
 * `--` inside one is not taken for the end. The text is one statement that the engine has already parsed.
 */
export function statementBody(sql: string): string {
  let end = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i + 2);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = blockCommentEnd(sql, i);
    } else if (c === ';' || isSpace(c)) {
      i++;
    } else {
      i = tokenEnd(sql, i);
      end = i;
    }
  }
  return sql.slice(0, end);
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/** After a `/* … *\/` comment starting at `start`; comments nest. */
function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

const IDENT_CHAR = /[\w$\u0080-\uffff]/;
/** `$$` or `$tag$`, matched at one position (sticky); `$1` is a parameter, not a tag. */
const DOLLAR_TAG = /\$(?:[A-Z_a-z]\w*)?\$/y;

/** After the significant text starting at `i`: a quoted string or identifier whole, else one character. */
function tokenEnd(sql: string, i: number): number {
  const c = sql[i]!;
  if (c === "'") {
    // E'…' strings take backslash escapes; elsewhere a quote is doubled.
    const escapes = (sql[i - 1] === 'e' || sql[i - 1] === 'E') && !IDENT_CHAR.test(sql[i - 2] ?? ' ');
    return quotedEnd(sql, i, "'", escapes);
  }
  if (c === '"') return quotedEnd(sql, i, '"', false);
  if (c === '$' && !IDENT_CHAR.test(sql[i - 1] ?? ' ')) {
    DOLLAR_TAG.lastIndex = i;
    const tag = DOLLAR_TAG.exec(sql)?.[0];
    if (tag) {
      const close = sql.indexOf(tag, i + tag.length);
      return close < 0 ? sql.length : close + tag.length;
    }
  }
  return i + 1;
}

function quotedEnd(sql: string, start: number, quote: string, escapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (escapes && c === '\\') i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i++;
  }
  return sql.length;
}
