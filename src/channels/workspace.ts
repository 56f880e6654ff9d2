import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The local tables a SQL-backed ML input channel can query, by name: `<dataDir>/workspace.json`
 * `{"tables": {"customers": "data/customers.csv", "events": {"path": "events/*.parquet", "format": "parquet"}}}`.
 * Relative paths are read from the file's folder. A query may also name files by path itself.
 */
const TableSchema = z.union([
  z.string().min(1),
  z.object({
    path: z.string().min(1),
    format: z.enum(['csv', 'parquet']).optional(),
    /** Whether CSV files start with a header row; detected when absent. */
    header: z.boolean().optional(),
  }),
]);
const WorkspaceSchema = z.object({ tables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), TableSchema).default({}) });

export interface WorkspaceTable {
  name: string;
  path: string;
  format: 'csv' | 'parquet';
  header?: boolean;
}

export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
}

export function loadWorkspace(file: string): WorkspaceTable[] {
  if (!existsSync(file)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WorkspaceError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = WorkspaceSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorkspaceError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return Object.entries(parsed.data.tables).map(([name, t]) => {
    const spec = typeof t === 'string' ? { path: t } : t;
    const path = isAbsolute(spec.path) ? spec.path : resolve(dirname(file), spec.path);
    const format = 'format' in spec && spec.format ? spec.format : /\.parquet$/i.test(path) ? 'parquet' : 'csv';
    return { name, path, format, header: 'header' in spec ? spec.header : undefined };
  });
}
