import { existsSync, realpathSync, statSync } from 'node:fs';
import { sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Workspace, WorkspaceTable } from '../workspace.js';
import { globBase, isGlob } from '../workspace.js';
import { listLiteral, quoteIdentifier, quoteLiteral, engineMessage } from './sql-text.js';

/**
 * An embedded DuckDB that can read the workspace's files and write one output file, and nothing else.
 *
 * enable_external_access=false switches off every file and network access (read_text('/etc/passwd'),
 * COPY … TO anywhere, ATTACH, INSTALL) except what allowed_paths / allowed_directories list: each table's file
 * (exactly), each file a glob table's pattern matches now (exactly: not its folder, whose other files stay
 * closed), the workspace's allowedDirectories, and the single output file. Extensions are never downloaded or
 * auto-loaded (parquet and json are built into the binding). Memory and threads are capped, so that a query
 * cannot take the host down. lock_configuration then freezes all of this, so nothing a query does can widen it.
 */
export interface QueryEngineScope {
  workspace: Workspace;
  /** The one file the engine may write. */
  outputFile: string;
  /** Where the engine may spill when a query outgrows memory. */
  tempDirectory: string;
  /** DuckDB's memory_limit (such as '4GiB'); the engine spills to tempDirectory beyond it. */
  memoryLimit?: string;
  threads?: number;
}

export interface QueryEngine {
  connection: DuckDBConnection;
  /** Tables whose view could not be created (a missing file, an unreadable CSV), with the engine's reason. */
  unreadableTables: ReadonlyMap<string, { table: WorkspaceTable; reason: string }>;
  close(): void;
}

export async function openQueryEngine(scope: QueryEngineScope): Promise<QueryEngine> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    ...(scope.memoryLimit ? { memory_limit: scope.memoryLimit } : {}),
    ...(scope.threads ? { threads: String(scope.threads) } : {}),
  });
  let connection: DuckDBConnection | undefined;
  const close = () => {
    connection?.closeSync();
    instance.closeSync();
  };
  try {
    connection = await instance.connect();
    const { tables, allowedDirectories } = scope.workspace;
    // A glob is expanded now, by the engine's own glob (the same matching its readers do), while it can still list
    // folders: its table is then the files it matched, and nothing else in their folder is reachable.
    const matches = new Map<WorkspaceTable, string[]>();
    const linkedOut = new Map<WorkspaceTable, string>();
    for (const table of tables.filter((t) => isGlob(t.path))) {
      const files = await globFiles(connection, table.path);
      // A link planted among the matches would open its target, wherever it is: the table is then refused.
      const out = linkOutOf(globBase(table.path), files);
      if (out) linkedOut.set(table, out);
      matches.set(table, out ? [] : files);
    }
    const paths = [...tables.filter((t) => !isGlob(t.path)).map((t) => t.path), ...[...matches.values()].flat(), scope.outputFile];
    // Lists first: once external access is off, only these stay reachable.
    await connection.run(`SET allowed_paths = ${listLiteral([...new Set(paths)])}`);
    await connection.run(`SET allowed_directories = ${listLiteral([...new Set(allowedDirectories)])}`);
    await connection.run(`SET temp_directory = ${quoteLiteral(scope.tempDirectory)}`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');

    const unreadableTables = new Map<string, { table: WorkspaceTable; reason: string }>();
    for (const table of tables) {
      // For a path that does not exist the engine would look for a Hive-style folder of that name and
      // report a refused '<path>/**/*.csv'; say what is actually wrong instead.
      if (!isGlob(table.path) && !existsSync(table.path)) {
        unreadableTables.set(table.name.toLowerCase(), { table, reason: 'no such file' });
        continue;
      }
      const files = matches.get(table) ?? [table.path];
      const link = linkedOut.get(table);
      if (link) {
        unreadableTables.set(table.name.toLowerCase(), { table, reason: link });
        continue;
      }
      if (files.length === 0) {
        unreadableTables.set(table.name.toLowerCase(), { table, reason: 'no files match the pattern' });
        continue;
      }
      try {
        await connection.run(`CREATE VIEW ${quoteIdentifier(table.name)} AS SELECT * FROM ${tableReader(table, files)}`);
      } catch (e) {
        // A view binds its files when created; one unreadable table must not fail queries that never name it.
        unreadableTables.set(table.name.toLowerCase(), { table, reason: engineMessage(e) });
      }
    }
    return { connection, unreadableTables, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** The files a glob matches, sorted; folders are not files a reader can open. */
async function globFiles(connection: DuckDBConnection, pattern: string): Promise<string[]> {
  const reader = await connection.runAndReadAll('SELECT file FROM glob($1::VARCHAR) ORDER BY file', [pattern]);
  return reader
    .getRows()
    .map((r) => String(r[0]))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}

/** The first match whose real path leaves the pattern's folder (its real path too), said as a reason; else undefined. */
function linkOutOf(base: string, files: readonly string[]): string | undefined {
  let realBase: string;
  try {
    realBase = realpathSync(base);
  } catch {
    return undefined;
  }
  const within = realBase.endsWith(sep) ? realBase : realBase + sep;
  for (const f of files) {
    let real: string;
    try {
      real = realpathSync(f);
    } catch {
      continue; // gone since the glob: the reader reports it
    }
    if (!real.startsWith(within)) {
      return `'${f}' is a link to '${real}', outside the pattern's folder '${base}' (links are not followed out of it; name that file as a table of its own to read it)`;
    }
  }
  return undefined;
}

function tableReader(table: WorkspaceTable, files: readonly string[]): string {
  if (table.format === 'parquet') return `read_parquet(${listLiteral(files)})`;
  const options = [listLiteral(files)];
  if (table.header !== 'auto') options.push(`header = ${table.header}`);
  if (table.columns) options.push(`names = ${listLiteral(table.columns)}`);
  return `read_csv(${options.join(', ')})`;
}
