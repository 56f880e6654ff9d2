import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StatementType } from '@duckdb/node-api';
import type { Workspace } from '../workspace.js';
import { MaterializedDataExistsError, QueryFailedError, QueryRefusedError } from './errors.js';
import { openQueryEngine, type QueryEngine } from './query-engine.js';
import { singleSelectStatement } from './query-guard.js';
import { sealMaterializedData } from './materialized-data.js';
import { quoteLiteral, engineMessage } from './sql-text.js';

export { removeMaterializedData } from './materialized-data.js';

export type ResultFormat = 'CSV' | 'PARQUET';

export interface MaterializeQueryOptions {
  /** The protected query: one SELECT over the workspace's tables. */
  queryString: string;
  resultFormat: ResultFormat;
  workspace: Workspace;
  /** Created here; must not exist yet, or be empty. */
  outDir: string;
  /** Interrupts the engine; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface MaterializedQuery {
  numberOfRecords: number;
  numberOfFiles: number;
  sizeInBytes: number;
}

/** The file names a training container sees: one part, in the result format. */
export function outputFileName(resultFormat: ResultFormat): string {
  return resultFormat === 'PARQUET' ? 'part-00000.parquet' : 'part-00000.csv';
}

/**
 * A protected query, locally: runs the query with DuckDB over the workspace's tables and has the engine write
 * the result once into `outDir` (headerless CSV with columns in SELECT order, or Parquet), which is then made
 * read-only. The rows go from the engine to the file; none pass through JavaScript.
 */
export async function materializeQuery(opts: MaterializeQueryOptions): Promise<MaterializedQuery> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const created = await prepareOutDir(opts.outDir);
  const outputFile = join(opts.outDir, outputFileName(opts.resultFormat));
  const tempDirectory = `${opts.outDir}.tmp`;
  let engine: QueryEngine | undefined;
  const interrupt = () => engine?.connection.interrupt();
  signal?.addEventListener('abort', interrupt, { once: true });
  try {
    engine = await openQueryEngine({ workspace: opts.workspace, outputFile, tempDirectory });
    const select = await singleSelectStatement(engine.connection, opts.queryString);
    await bindQuery(engine, select);
    signal?.throwIfAborted();
    const options = opts.resultFormat === 'PARQUET' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER false)';
    let numberOfRecords: number;
    try {
      // The newline keeps a trailing `--` comment from swallowing the closing parenthesis.
      const reader = await engine.connection.runAndReadAll(`COPY (${select}\n) TO ${quoteLiteral(outputFile)} ${options}`);
      numberOfRecords = Number(reader.getRows()[0]?.[0] ?? 0);
    } catch (e) {
      signal?.throwIfAborted();
      throw new QueryFailedError(engineMessage(e), { cause: e });
    }
    const summary = await sealMaterializedData(opts.outDir);
    return { numberOfRecords, ...summary };
  } catch (e) {
    await discard(opts.outDir, created);
    throw e;
  } finally {
    signal?.removeEventListener('abort', interrupt);
    engine?.close();
    await rm(tempDirectory, { recursive: true, force: true });
  }
}

async function prepareOutDir(outDir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(outDir, { recursive: true });
    return true;
  }
  if (entries.length > 0) throw new MaterializedDataExistsError(`${outDir} already holds channel data; it is written once.`);
  return false;
}

/** Binds the query against the tables without running it, so its errors point into the user's own text. */
async function bindQuery(engine: QueryEngine, select: string): Promise<void> {
  let statementType: StatementType;
  try {
    statementType = (await engine.connection.prepare(select)).statementType;
  } catch (e) {
    throw new QueryFailedError(explainBindError(engine, engineMessage(e)), { cause: e });
  }
  if (statementType !== StatementType.SELECT) throw new QueryRefusedError('The query must be a single SELECT statement.');
}

/** "Table … does not exist" for a workspace table means its files could not be read: say why, and which files. */
function explainBindError(engine: QueryEngine, message: string): string {
  const missing = /Table with name (\S+) does not exist/i.exec(message)?.[1];
  const unreadable = missing ? engine.unreadableTables.get(missing.toLowerCase()) : undefined;
  if (unreadable) return `Table ${unreadable.table.name} (${unreadable.table.path}) cannot be read: ${unreadable.reason}`;
  return message;
}

async function discard(outDir: string, created: boolean): Promise<void> {
  if (created) await rm(outDir, { recursive: true, force: true });
  else for (const f of await readdir(outDir)) await rm(join(outDir, f), { recursive: true, force: true });
}
