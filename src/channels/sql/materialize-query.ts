import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StatementType } from '@duckdb/node-api';
import type { Workspace } from '../workspace.js';
import { MaterializedDataExistsError, QueryFailedError, QueryLimitExceededError, QueryRefusedError } from './errors.js';
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
  /** Where the user names tables and allowedDirectories, for messages (default: the workspace's own file). */
  workspaceFile?: string;
  /** Limits, each with the setting that changes it (named in the error when a query exceeds it). */
  limits?: QueryLimits;
}

export interface QueryLimits {
  timeoutMs?: number;
  maxResultBytes?: number;
  /** DuckDB's memory_limit, such as '4GiB'. */
  memoryLimit?: string;
  threads?: number;
  /** How often the result file is measured while it is written (default 500 ms). */
  sizeCheckIntervalMs?: number;
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
  const limits = opts.limits ?? {};
  const explain = (e: unknown) => explainRefusedFile(engineMessage(e), opts.workspaceFile ?? opts.workspace.file);
  let engine: QueryEngine | undefined;
  // Why the engine was interrupted, when it was: the caller's signal, or a limit.
  let stopped: Error | undefined;
  const interrupt = (why: Error) => {
    stopped ??= why;
    engine?.connection.interrupt();
  };
  const onAbort = () => interrupt(signal!.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = limits.timeoutMs
    ? setTimeout(() => interrupt(new QueryLimitExceededError(`The query ran longer than ${seconds(limits.timeoutMs!)}, the limit set by ${TIMEOUT_SETTING}, and was stopped.`)), limits.timeoutMs)
    : undefined;
  let sizeWatch: NodeJS.Timeout | undefined;
  const checkSize = async () => {
    const size = await stat(outputFile).then((s) => s.size, () => 0);
    if (limits.maxResultBytes !== undefined && size > limits.maxResultBytes) interrupt(resultTooLarge(limits.maxResultBytes));
  };
  try {
    engine = await openQueryEngine({ workspace: opts.workspace, outputFile, tempDirectory, memoryLimit: limits.memoryLimit, threads: limits.threads });
    const select = await singleSelectStatement(engine.connection, opts.queryString);
    await bindQuery(engine, select, explain);
    if (stopped) throw stopped;
    signal?.throwIfAborted();
    const options = opts.resultFormat === 'PARQUET' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER false)';
    let numberOfRecords: number;
    if (limits.maxResultBytes !== undefined) sizeWatch = setInterval(() => void checkSize(), limits.sizeCheckIntervalMs ?? 500);
    try {
      // The newline keeps a trailing `--` comment from swallowing the closing parenthesis.
      const reader = await engine.connection.runAndReadAll(`COPY (${select}\n) TO ${quoteLiteral(outputFile)} ${options}`);
      numberOfRecords = Number(reader.getRows()[0]?.[0] ?? 0);
    } catch (e) {
      if (stopped) throw stopped;
      signal?.throwIfAborted();
      throw new QueryFailedError(explain(e), { cause: e });
    }
    clearInterval(sizeWatch);
    // The last bytes may have come after the last measurement.
    await checkSize();
    if (stopped) throw stopped;
    const summary = await sealMaterializedData(opts.outDir);
    return { numberOfRecords, ...summary };
  } catch (e) {
    await discard(opts.outDir, created);
    // An interrupted engine reports "INTERRUPT Error" wherever it was: say why it was interrupted instead.
    throw stopped ?? e;
  } finally {
    clearTimeout(timer);
    clearInterval(sizeWatch);
    signal?.removeEventListener('abort', onAbort);
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
async function bindQuery(engine: QueryEngine, select: string, explain: (e: unknown) => string): Promise<void> {
  let statementType: StatementType;
  try {
    statementType = (await engine.connection.prepare(select)).statementType;
  } catch (e) {
    throw new QueryFailedError(explainBindError(engine, explain(e)), { cause: e });
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

export const TIMEOUT_SETTING = 'CRML_SQL_TIMEOUT_SECONDS';
export const MAX_RESULT_SETTING = 'CRML_SQL_MAX_RESULT_BYTES';

const seconds = (ms: number) => `${ms / 1000} second${ms === 1000 ? '' : 's'}`;

function resultTooLarge(maxResultBytes: number): QueryLimitExceededError {
  return new QueryLimitExceededError(
    `The query's result is larger than ${maxResultBytes} bytes (${(maxResultBytes / 1024 ** 3).toFixed(2)} GiB), the limit set by ${MAX_RESULT_SETTING}; it was stopped and nothing was kept.`,
  );
}

/**
 * The engine refuses a file outside the workspace with "file system operations are disabled by configuration":
 * say which file, and how a user allows it.
 */
function explainRefusedFile(message: string, workspaceFile: string | undefined): string {
  const refused = /^Permission Error: Cannot access (?:file|directory) "([^"]*)" - file system operations are disabled by configuration/.exec(message);
  if (!refused) return message;
  const where = workspaceFile ?? 'the workspace file';
  return (
    `Permission Error: the query may not read "${refused[1]}": it is outside the workspace. A query reads only its tables' files ` +
    `and files under its allowedDirectories; to allow this file, name it as a table in "tables", or its folder in "allowedDirectories", in ${where}.`
  );
}

async function discard(outDir: string, created: boolean): Promise<void> {
  if (created) await rm(outDir, { recursive: true, force: true });
  else for (const f of await readdir(outDir)) await rm(join(outDir, f), { recursive: true, force: true });
}
