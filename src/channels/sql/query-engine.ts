import { existsSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Workspace, WorkspaceTable } from '../workspace.js';
import { globBase, isGlob } from '../workspace.js';
import { listLiteral, quoteIdentifier, quoteLiteral, engineMessage } from './sql-text.js';

/**
 * An embedded DuckDB that can read the workspace's files and write one output file, and nothing else.
 *
 * enable_external_access=false switches off every file and network access (read_text('/etc/passwd'),
 * COPY … TO anywhere, ATTACH, INSTALL) except what allowed_paths / allowed_directories list: each table's file
 * (exactly), each glob table's folder, the workspace's allowedDirectories, and the single output file. Extensions
 * are never downloaded or auto-loaded (parquet and json are built into the binding). lock_configuration then
 * freezes all of this, so nothing a query does can widen it.
 */
export interface QueryEngineScope {
  workspace: Workspace;
  /** The one file the engine may write. */
  outputFile: string;
  /** Where the engine may spill when a query outgrows memory. */
  tempDirectory: string;
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
  });
  let connection: DuckDBConnection | undefined;
  const close = () => {
    connection?.closeSync();
    instance.closeSync();
  };
  try {
    connection = await instance.connect();
    const { tables, allowedDirectories } = scope.workspace;
    const paths = [...tables.filter((t) => !isGlob(t.path)).map((t) => t.path), scope.outputFile];
    const directories = [...new Set([...tables.filter((t) => isGlob(t.path)).map((t) => globBase(t.path)), ...allowedDirectories])];
    // Lists first: once external access is off, only these stay reachable.
    await connection.run(`SET allowed_paths = ${listLiteral(paths)}`);
    await connection.run(`SET allowed_directories = ${listLiteral(directories)}`);
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
      try {
        await connection.run(`CREATE VIEW ${quoteIdentifier(table.name)} AS SELECT * FROM ${tableReader(table)}`);
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

function tableReader(table: WorkspaceTable): string {
  if (table.format === 'parquet') return `read_parquet(${quoteLiteral(table.path)})`;
  const options = [quoteLiteral(table.path)];
  if (table.header !== 'auto') options.push(`header = ${table.header}`);
  if (table.columns) options.push(`names = ${listLiteral(table.columns)}`);
  return `read_csv(${options.join(', ')})`;
}
