import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { WorkspaceTable } from './workspace.js';

/**
 * A protected query, locally: one SELECT over local tables with DuckDB, written once as the channel's
 * files (headerless CSV in SELECT order, or Parquet) and made read-only. DuckDB writes the files itself,
 * so the result never passes through JavaScript memory.
 */
export class QueryFailedError extends Error {
  override readonly name = 'QueryFailedError';
}

export interface MaterializedQuery {
  numberOfRecords: number;
  numberOfFiles: number;
  sizeInBytes: number;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** One statement, and a read: what a collaboration's analysis can do. */
export function assertSelectOnly(queryString: string): string {
  const sql = queryString
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .trim()
    .replace(/;\s*$/, '');
  if (!/^(select|with|from)\b/i.test(sql)) throw new QueryFailedError('The query must be a single SELECT (or WITH … SELECT) statement.');
  // A semicolon outside string literals means a second statement.
  if (/;/.test(sql.replace(/'(?:[^']|'')*'/g, "''"))) throw new QueryFailedError('The query must be a single statement.');
  return sql;
}

export async function materializeQuery(opts: {
  queryString: string;
  resultFormat: 'CSV' | 'PARQUET';
  tables: readonly WorkspaceTable[];
  outDir: string;
}): Promise<MaterializedQuery> {
  const sql = assertSelectOnly(opts.queryString);
  await mkdir(opts.outDir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    for (const t of opts.tables) {
      const reader =
        t.format === 'parquet'
          ? `read_parquet(${quoteString(t.path)})`
          : `read_csv(${quoteString(t.path)}${t.header === undefined ? '' : `, header = ${t.header}`})`;
      await connection.run(`CREATE VIEW ${quoteIdent(t.name)} AS SELECT * FROM ${reader}`);
    }
    const file = join(opts.outDir, opts.resultFormat === 'PARQUET' ? 'part-00000.parquet' : 'part-00000.csv');
    const options = opts.resultFormat === 'PARQUET' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER false)';
    let records: number;
    try {
      const result = await connection.runAndReadAll(`COPY (${sql}) TO ${quoteString(file)} ${options}`);
      records = Number(result.getRows()[0]?.[0] ?? 0);
    } catch (e) {
      throw new QueryFailedError((e as Error).message);
    }
    let sizeInBytes = 0;
    const files = await readdir(opts.outDir);
    for (const f of files) {
      sizeInBytes += (await stat(join(opts.outDir, f))).size;
      await chmod(join(opts.outDir, f), 0o444);
    }
    await chmod(opts.outDir, 0o555);
    return { numberOfRecords: records, numberOfFiles: files.length, sizeInBytes };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** DeleteMLInputChannelData: gives write permission back, then removes what was materialised. */
export async function removeMaterializedData(outDir: string): Promise<void> {
  await chmod(outDir, 0o755).catch(() => undefined);
  await rm(outDir, { recursive: true, force: true });
}
