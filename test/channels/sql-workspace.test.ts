import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_WORKSPACE, WorkspaceError, globBase, loadDataDirWorkspace, loadWorkspace } from '../../src/channels/workspace.js';

const TABLES = join(import.meta.dirname, '../fixtures/tables');

/** A folder holding one workspace.json, removed on dispose. */
function workspaceFolder(json: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'crml-ws-'));
  const file = join(dir, 'workspace.json');
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return { dir, file, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('workspace of local tables', () => {
  it('reads named tables with paths from the file’s folder, formats from the names, header left to the sniffer', () => {
    const ws = loadWorkspace(join(TABLES, 'workspace.json'));
    expect(ws.file).toBe(join(TABLES, 'workspace.json'));
    expect(ws.tables).toEqual([
      { name: 'customers', path: join(TABLES, 'customers.csv'), format: 'csv', header: false, columns: ['id', 'name', 'age'] },
      { name: 'purchases', path: join(TABLES, 'purchases.csv'), format: 'csv', header: 'auto' },
    ]);
    expect(ws.allowedDirectories).toEqual([]);
  });

  it('takes globs, an explicit format and allowed folders', () => {
    using w = workspaceFolder({
      tables: { events: { path: 'events/*.data', format: 'parquet' }, logs: '/srv/logs/**/*.csv.gz' },
      allowedDirectories: ['shared', '/srv/more/'],
    });
    const ws = loadWorkspace(w.file);
    expect(ws.tables).toEqual([
      { name: 'events', path: join(w.dir, 'events/*.data'), format: 'parquet', header: 'auto' },
      { name: 'logs', path: '/srv/logs/**/*.csv.gz', format: 'csv', header: 'auto' },
    ]);
    expect(ws.allowedDirectories).toEqual([join(w.dir, 'shared') + '/', '/srv/more/']);
    expect(globBase('/srv/logs/**/*.csv.gz')).toBe('/srv/logs/');
    expect(globBase(join(w.dir, 'events/*.data'))).toBe(join(w.dir, 'events') + '/');
  });

  it.each([
    [{ tables: { events: 'events.bin' } }, "table 'events': cannot tell the format of '<dir>/events.bin' from its name; add \"format\": \"csv\" or \"parquet\""],
    [{ tables: { events: { path: 'e.parquet', header: true } } }, "table 'events': \"header\" and \"columns\" apply to CSV files only"],
    [{ tables: { events: { path: 'e.csv', format: 'json' } } }, "table 'events', format: Invalid option"],
    [{ tables: { events: { path: 'e.csv', heder: true } } }, "table 'events': Unrecognized key: \"heder\""],
    [{ tables: { '1st': 'a.csv' } }, "table '1st': a table name is letters, digits and underscores, not starting with a digit"],
    [{ tables: { Sales: 'a.csv', sales: 'b.csv' } }, "table 'sales': the name is already used by table 'Sales'"],
    [{ tables: { sub: 'sub' } }, "table 'sub': path '<dir>/sub' is a folder; name its files with a glob such as '<dir>/sub/*.parquet'"],
    [{ tabels: {} }, 'Unrecognized key'],
    ['{"tables": ', 'is not valid JSON'],
  ])('refuses %j, naming what is wrong', (json, expected) => {
    using w = workspaceFolder(json);
    mkdirSync(join(w.dir, 'sub'));
    expect(() => loadWorkspace(w.file)).toThrow(WorkspaceError);
    expect(() => loadWorkspace(w.file)).toThrow(expected.replaceAll('<dir>', w.dir));
    expect(() => loadWorkspace(w.file)).toThrow(`Workspace file ${w.file}`);
  });

  it('a named file must exist; a data folder without workspace.json has the empty workspace', () => {
    using w = workspaceFolder({ tables: { a: 'a.csv' } });
    expect(() => loadWorkspace(join(w.dir, 'nope.json'))).toThrow(`Workspace file ${join(w.dir, 'nope.json')} cannot be read`);
    expect(loadWorkspace()).toBe(EMPTY_WORKSPACE);
    expect(loadDataDirWorkspace(w.dir).tables.map((t) => t.name)).toEqual(['a']);
    expect(loadDataDirWorkspace(join(w.dir, 'sub-without-file'))).toBe(EMPTY_WORKSPACE);
    expect(loadDataDirWorkspace('/nowhere', join(TABLES, 'workspace.json')).tables).toHaveLength(2);
    expect(() => loadDataDirWorkspace(w.dir, join(w.dir, 'nope.json'))).toThrow(WorkspaceError);
  });
});
