import type { DuckDBConnection } from '@duckdb/node-api';
import { QueryFailedError, QueryRefusedError } from './errors.js';
import { engineMessage } from './sql-text.js';

const NOT_A_SELECT =
  'The query must be a single SELECT statement (SELECT, WITH … SELECT, FROM …, VALUES …); ' +
  'COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET, CREATE, INSERT and other statements are refused.';

/**
 * What a collaboration's analysis may run: one statement, and a read. Judged by the engine's own parser,
 * without binding or running anything, and returned ready to be the body of `COPY (…) TO`.
 */
export async function singleSelectStatement(connection: DuckDBConnection, queryString: string): Promise<string> {
  // json_serialize_sql parses only, and serializes SELECT statements alone.
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [queryString]);
  const parsed = JSON.parse(String(reader.getRows()[0]?.[0])) as { error?: boolean; error_type?: string; error_message?: string; statements?: unknown[] };
  if (parsed.error) {
    // The parser's full message (with the line and a caret) comes from extracting the statements.
    const count = await statementCount(connection, queryString, parsed.error_message);
    if (parsed.error_type === 'parser') throw new QueryFailedError(`Parser Error: ${parsed.error_message}`);
    if (count > 1) throw new QueryRefusedError(`The query must be a single statement; it has ${count}.`);
    throw new QueryRefusedError(NOT_A_SELECT);
  }
  const count = parsed.statements?.length ?? 0;
  if (count === 0) throw new QueryRefusedError('The query is empty.');
  if (count > 1) throw new QueryRefusedError(`The query must be a single statement; it has ${count}.`);

  // A trailing `;` (and comments after it) would close COPY's parenthesis early.
  // eslint-disable-next-line regexp/no-super-linear-backtracking -- the sql branch replaces this regex (issue 14)
  return queryString.replace(/;(?:\s|--[^\n]*|\/\*[\s\S]*?\*\/)*$/, '').trimEnd();
}

async function statementCount(connection: DuckDBConnection, queryString: string, fallback = 'The query cannot be parsed.'): Promise<number> {
  try {
    return (await connection.extractStatements(queryString)).count;
  } catch (e) {
    const message = engineMessage(e);
    throw new QueryFailedError(/native callback/i.test(message) ? fallback : message, { cause: e });
  }
}
