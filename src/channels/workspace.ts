import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { z } from 'zod';

/**
 * The workspace: local tables a protected query can name, from a JSON file (default `<dataDir>/workspace.json`):
 * `{"tables": {"customers": "data/customers.csv", "events": {"path": "events/*.parquet", "format": "parquet"}},
 *   "allowedDirectories": ["shared"]}`.
 * Paths are read from the file's folder. A query reads nothing but these tables' files and, by absolute path,
 * files under `allowedDirectories`.
 */

/** Plain identifiers, so a name reads the same quoted or not. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TableName = z.string().regex(IDENTIFIER, 'a table name is letters, digits and underscores, not starting with a digit');
const ColumnName = z.string().regex(IDENTIFIER, 'a column name is letters, digits and underscores, not starting with a digit');

/** A table is a path, or an object with its path and how to read it. */
const TableEntry = z.preprocess(
  (v) => (typeof v === 'string' ? { path: v } : v),
  z.strictObject({
    /** A file, or a glob such as `events/*.parquet` (`*`, `**`, `?`, `[...]`). */
    path: z.string().min(1),
    format: z.enum(['csv', 'parquet']).optional(),
    /** CSV only: whether the files start with a header row; `auto` (the default) lets the engine's sniffer decide. */
    header: z.union([z.boolean(), z.literal('auto')]).optional(),
    /** CSV only: names for the columns, in file order (for headerless files; otherwise column0, column1, …). */
    columns: z.array(ColumnName).min(1).optional(),
  }),
);

export const WorkspaceFileSchema = z.strictObject({
  tables: z.record(TableName, TableEntry).default({}),
  allowedDirectories: z.array(z.string().min(1)).default([]),
});
export type WorkspaceFile = z.infer<typeof WorkspaceFileSchema>;

export interface WorkspaceTable {
  name: string;
  /** Absolute path of a file, or an absolute glob. */
  path: string;
  format: 'csv' | 'parquet';
  /** CSV: header row present, absent, or left to the sniffer. Parquet: always 'auto' (it carries its schema). */
  header: boolean | 'auto';
  columns?: readonly string[];
}

export interface Workspace {
  /** The file it was read from; absent for the empty workspace. */
  file?: string;
  tables: readonly WorkspaceTable[];
  /** Absolute folders, each ending with the path separator, whose files a query may read by path. */
  allowedDirectories: readonly string[];
}

export const EMPTY_WORKSPACE: Workspace = Object.freeze({ tables: [], allowedDirectories: [] });

export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
}

export const WORKSPACE_FILE_NAME = 'workspace.json';

const GLOB = /[*?[{]/;

export function isGlob(path: string): boolean {
  return GLOB.test(path);
}

/** The folder a glob lists: every segment before the first one with a wildcard. */
export function globBase(path: string): string {
  const segments = path.split(sep);
  const first = segments.findIndex((s) => GLOB.test(s));
  return withTrailingSep(first < 0 ? dirname(path) : segments.slice(0, first).join(sep) || sep);
}

function withTrailingSep(dir: string): string {
  return dir.endsWith(sep) ? dir : dir + sep;
}

function inferFormat(path: string): 'csv' | 'parquet' | undefined {
  if (/\.(parquet|parq)$/i.test(path)) return 'parquet';
  if (/\.(csv|tsv|txt)(\.(gz|zst))?$/i.test(path)) return 'csv';
  return undefined;
}

/** The workspace in `path`, which must exist; with no path, the empty workspace. */
export function loadWorkspace(path?: string): Workspace {
  if (path === undefined) return EMPTY_WORKSPACE;
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new WorkspaceError(`Workspace file ${file} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WorkspaceError(`Workspace file ${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return workspaceFromJson(json, file);
}

/**
 * The workspace of a data folder: `path` when one is configured (it must exist), else
 * `<dataDir>/workspace.json` when there is one, else the empty workspace.
 */
export function loadDataDirWorkspace(dataDir: string, path?: string): Workspace {
  if (path !== undefined) return loadWorkspace(path);
  const file = join(dataDir, WORKSPACE_FILE_NAME);
  return existsSync(file) ? loadWorkspace(file) : EMPTY_WORKSPACE;
}

/** Validates a parsed workspace file; relative paths are taken from `file`'s folder. */
export function workspaceFromJson(json: unknown, file: string): Workspace {
  const parsed = WorkspaceFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [first, name, ...rest] = issue.path.map(String);
    const where = first === 'tables' && name !== undefined ? `table '${name}'${rest.length ? `, ${rest.join('.')}` : ''}` : issue.path.join('.') || '(top level)';
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    throw new WorkspaceError(`Workspace file ${file}: ${where}: ${message}`);
  }
  const folder = dirname(file);
  const seen = new Map<string, string>();
  const tables = Object.entries(parsed.data.tables).map(([name, entry]): WorkspaceTable => {
    const bad = (why: string) => new WorkspaceError(`Workspace file ${file}: table '${name}': ${why}`);
    // The engine's names are case-insensitive: two spellings of one name would shadow each other.
    const clash = seen.get(name.toLowerCase());
    if (clash) throw bad(`the name is already used by table '${clash}' (table names ignore case)`);
    seen.set(name.toLowerCase(), name);

    const path = resolve(folder, entry.path);
    if (!isGlob(path) && existsSync(path) && statSync(path).isDirectory()) {
      throw bad(`path '${path}' is a folder; name its files with a glob such as '${join(path, '*.parquet')}'`);
    }
    const format = entry.format ?? inferFormat(path);
    if (!format) throw bad(`cannot tell the format of '${path}' from its name; add "format": "csv" or "parquet"`);
    const { header, columns } = entry;
    if (format === 'parquet' && (header !== undefined || columns !== undefined)) {
      throw bad(`"header" and "columns" apply to CSV files only; Parquet files carry their own column names`);
    }
    return { name, path, format, header: header ?? 'auto', ...(columns ? { columns } : {}) };
  });
  const allowedDirectories = parsed.data.allowedDirectories.map((d) => withTrailingSep(resolve(folder, d)));
  return { file, tables, allowedDirectories };
}
