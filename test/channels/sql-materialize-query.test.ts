import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  MaterializedDataExistsError,
  QueryFailedError,
  QueryRefusedError,
  QueryLimitExceededError,
  materializeQuery,
  removeMaterializedData,
} from '../../src/channels/sql/index.js';
import { loadWorkspace, workspaceFromJson, type Workspace } from '../../src/channels/workspace.js';

const TABLES = join(import.meta.dirname, '../fixtures/tables');
/** customers.csv (headerless: id, name, age) and purchases.csv (header: customer_id, amount). */
const WORKSPACE = loadWorkspace(join(TABLES, 'workspace.json'));

/** A scratch folder; `out` is where a channel's data goes. Removed on dispose, read-only data included. */
function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'crml-sql-'));
  return {
    dir,
    out: join(dir, 'channel', 'data'),
    async [Symbol.asyncDispose]() {
      await removeMaterializedData(join(dir, 'channel', 'data'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function readParquet(file: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
    return { columns: r.columnNames(), rows: r.getRowsJS() };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const csv = (queryString: string, outDir: string, workspace: Workspace = WORKSPACE) =>
  materializeQuery({ queryString, resultFormat: 'CSV', workspace, outDir });

describe('ML input channel data from a protected query over local tables', () => {
  it('joins two local CSV tables into one headerless CSV, columns in SELECT order, read-only', async () => {
    await using s = scratch();
    const result = await csv(
      `SELECT c.name, p.amount, c.id
         FROM purchases p JOIN customers c ON c.id = p.customer_id
        ORDER BY p.amount DESC`,
      s.out,
    );
    const expected = 'Ada,10.5,1\nCy,7.0,3\nAda,4.5,1\n';
    expect(readdirSync(s.out)).toEqual(['part-00000.csv']);
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe(expected);
    expect(result).toEqual({ numberOfRecords: 3, numberOfFiles: 1, sizeInBytes: Buffer.byteLength(expected) });
    expect(statSync(join(s.out, 'part-00000.csv')).mode & 0o777).toBe(0o444);
    expect(statSync(s.out).mode & 0o777).toBe(0o555);
    expect(readdirSync(join(s.dir, 'channel'))).toEqual(['data']); // no spill folder left behind
  });

  it('writes Parquet that reads back with the SELECT’s column names and values', async () => {
    await using s = scratch();
    const result = await materializeQuery({
      queryString: 'WITH adults AS (SELECT * FROM customers WHERE age >= 18) SELECT id, age, name FROM adults ORDER BY id;',
      resultFormat: 'PARQUET',
      workspace: WORKSPACE,
      outDir: s.out,
    });
    expect(readdirSync(s.out)).toEqual(['part-00000.parquet']);
    expect(result).toMatchObject({ numberOfRecords: 2, numberOfFiles: 1 });
    expect(result.sizeInBytes).toBe(statSync(join(s.out, 'part-00000.parquet')).size);
    expect(await readParquet(join(s.out, 'part-00000.parquet'))).toEqual({
      columns: ['id', 'age', 'name'],
      rows: [
        [1n, 42n, 'Ada'],
        [3n, 99n, 'Cy'],
      ],
    });
  });

  it('reads a glob of Parquet files as one table, and absolute paths under allowedDirectories', async () => {
    await using s = scratch();
    mkdirSync(join(s.dir, 'events'));
    mkdirSync(join(s.dir, 'shared'));
    writeFileSync(join(s.dir, 'shared', 'labels.csv'), 'id,label\n1,gold\n3,silver\n');
    await materializeQuery({ queryString: 'SELECT 1 AS id, 5 AS n UNION ALL SELECT 3, 7', resultFormat: 'PARQUET', workspace: WORKSPACE, outDir: join(s.dir, 'events', 'a') });
    await materializeQuery({ queryString: 'SELECT 1 AS id, 2 AS n', resultFormat: 'PARQUET', workspace: WORKSPACE, outDir: join(s.dir, 'events', 'b') });
    const workspace = workspaceFromJson(
      { tables: { events: 'events/*/*.parquet' }, allowedDirectories: ['shared'] },
      join(s.dir, 'workspace.json'),
    );
    await csv(
      `SELECT e.id, sum(e.n) AS total, l.label -- per customer
         FROM events e JOIN '${join(s.dir, 'shared', 'labels.csv')}' l USING (id)
        GROUP BY e.id, l.label ORDER BY e.id -- trailing comment, no newline`,
      s.out,
      workspace,
    );
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe('1,7,gold\n3,7,silver\n');
    for (const part of ['a', 'b']) await removeMaterializedData(join(s.dir, 'events', part));
  });

  it('fails with the engine’s own words for bad SQL and for a table that does not exist, leaving no data', async () => {
    await using s = scratch();
    const bad = await csv('SELEC name FROM customers', s.out).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(QueryFailedError);
    expect(bad).toMatchObject({ statusCode: 'QUERY_FAILED' });
    expect((bad as Error).message).toMatch(/^Parser Error: syntax error at or near "SELEC"/);

    const missing = await csv('SELECT * FROM customers JOIN nowhere USING (id)', s.out).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(QueryFailedError);
    expect((missing as Error).message).toMatch(/^Catalog Error: Table with name nowhere does not exist!/);

    const column = await csv('SELECT email FROM customers', s.out).catch((e: unknown) => e);
    expect((column as Error).message).toMatch(/^Binder Error: Referenced column "email" not found/);

    // Errors while running (not binding) come from the engine too.
    const cast = await csv("SELECT CAST(name AS INTEGER) FROM customers", s.out).catch((e: unknown) => e);
    expect(cast).toBeInstanceOf(QueryFailedError);
    expect((cast as Error).message).toMatch(/^Conversion Error: Could not convert string 'Ada' to INT32/);
    expect(existsSync(s.out)).toBe(false);
  });

  it('names the workspace table and its path when the table’s file is missing, without failing other queries', async () => {
    await using s = scratch();
    const workspace = workspaceFromJson(
      { tables: { customers: { path: join(TABLES, 'customers.csv'), header: false }, gone: 'gone.csv' } },
      join(s.dir, 'workspace.json'),
    );
    const error = await csv('SELECT * FROM gone', s.out, workspace).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as Error).message).toBe(
      `Table gone (${join(s.dir, 'gone.csv')}) cannot be read: no such file`,
    );
    const none = workspaceFromJson({ tables: { none: 'none/*.parquet' } }, join(s.dir, 'workspace.json'));
    await expect(csv('SELECT * FROM none', s.out, none)).rejects.toThrow(
      `Table none (${join(s.dir, 'none/*.parquet')}) cannot be read: no files match the pattern`,
    );
    await expect(csv('SELECT count(*) FROM customers', s.out, workspace)).resolves.toMatchObject({ numberOfRecords: 1 });
  });

  it.each([
    ["COPY customers TO '/tmp/crml-copy-refused.csv'", 'must be a single SELECT'],
    ["ATTACH '/tmp/crml-attach-refused.db' AS x", 'must be a single SELECT'],
    ['INSTALL httpfs', 'must be a single SELECT'],
    ['LOAD httpfs', 'must be a single SELECT'],
    ['PRAGMA enable_profiling', 'must be a single SELECT'],
    ['SET enable_external_access = true', 'must be a single SELECT'],
    ['CREATE TABLE t AS SELECT 1', 'must be a single SELECT'],
    ['SELECT 1; DROP VIEW customers', 'must be a single statement; it has 2'],
    ['  -- nothing', 'The query is empty.'],
  ])('refuses %j before running anything', async (queryString, message) => {
    await using s = scratch();
    const error = await csv(queryString, s.out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryRefusedError);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as Error).message).toContain(message);
    expect(existsSync('/tmp/crml-copy-refused.csv')).toBe(false);
    expect(existsSync('/tmp/crml-attach-refused.db')).toBe(false);
    expect(existsSync(s.out)).toBe(false);
  });

  it('reads no file outside the workspace, by any function or path', async () => {
    await using s = scratch();
    writeFileSync(join(s.dir, 'secret.csv'), 'x\n1\n');
    mkdirSync(join(s.dir, 'shared'));
    const workspace = workspaceFromJson({ tables: { customers: join(TABLES, 'customers.csv') }, allowedDirectories: ['shared'] }, join(s.dir, 'workspace.json'));
    for (const [q, refused] of [
      [`SELECT * FROM '${join(s.dir, 'secret.csv')}'`, join(s.dir, 'secret.csv')],
      [`SELECT * FROM '${join(s.dir, 'shared')}/../secret.csv'`, `${join(s.dir, 'shared')}/../secret.csv`],
      [`SELECT * FROM read_csv('${TABLES}/*.csv')`, `${TABLES}/*.csv`],
      ["SELECT * FROM read_text('/etc/hostname')", '/etc/hostname'],
      [`SELECT * FROM glob('${s.dir}/*')`, `${s.dir}/*`],
    ]) {
      const error = await csv(q!, s.out, workspace).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryFailedError);
      // Which file, and how a user allows it: not the engine's "file system operations are disabled by configuration".
      expect((error as Error).message).toBe(
        `Permission Error: the query may not read "${refused}": it is outside the workspace. A query reads only its tables' files ` +
          `and files under its allowedDirectories; to allow this file, name it as a table in "tables", or its folder in "allowedDirectories", in ${join(s.dir, 'workspace.json')}.`,
      );
    }
  });

  it("does not follow a link among a glob's matches out of the pattern's folder (a planted link reads nothing outside)", async () => {
    await using s = scratch();
    const outside = mkdtempSync(join(tmpdir(), 'crml-sql-outside-'));
    try {
      mkdirSync(join(s.dir, 'events'));
      writeFileSync(join(s.dir, 'events', 'a.csv'), 'id,n\n1,5\n');
      writeFileSync(join(outside, 'secret.csv'), 'id,n\n42,42\n');
      symlinkSync(join(outside, 'secret.csv'), join(s.dir, 'events', 'planted.csv'));
      const workspace = workspaceFromJson({ tables: { events: 'events/*.csv' } }, join(s.dir, 'workspace.json'));
      const read = await csv(`SELECT * FROM read_text('${join(s.dir, 'events', 'planted.csv')}')`, s.out, workspace).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(QueryFailedError);
      const table = await csv('SELECT * FROM events', s.out, workspace).catch((e: unknown) => e);
      expect(table).toBeInstanceOf(QueryFailedError);
      expect((table as Error).message).toContain(`'${join(s.dir, 'events', 'planted.csv')}' is a link to '${join(outside, 'secret.csv')}', outside the pattern's folder`);
      expect(existsSync(join(s.out, 'part-00000.csv'))).toBe(false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('opens to a glob table only the files its pattern matches, not the rest of their folder', async () => {
    await using s = scratch();
    mkdirSync(join(s.dir, 'events', 'private'), { recursive: true });
    writeFileSync(join(s.dir, 'events', 'a.csv'), 'id,n\n1,5\n3,7\n');
    writeFileSync(join(s.dir, 'events', 'b.csv'), 'id,n\n1,2\n');
    writeFileSync(join(s.dir, 'events', 'notes.txt'), 'not a table\n');
    writeFileSync(join(s.dir, 'events', 'private', 'key.pem'), '-----BEGIN PRIVATE KEY-----\n');
    const workspace = workspaceFromJson({ tables: { events: 'events/*.csv' } }, join(s.dir, 'workspace.json'));
    for (const file of [join(s.dir, 'events', 'private', 'key.pem'), join(s.dir, 'events', 'notes.txt')]) {
      const error = await csv(`SELECT * FROM read_text('${file}')`, s.out, workspace).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as Error).message).toContain(`may not read "${file}"`);
    }
    await csv('SELECT id, sum(n) FROM events GROUP BY id ORDER BY id', s.out, workspace);
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe('1,7\n3,7\n');
  });

  it.each([
    ['SELECT 1 AS x;;', '1\n'],
    ['SELECT 1 AS x ; ;\n-- done\n;', '1\n'],
    ["SELECT ';' AS x; /* ; */", ';\n'],
    ["SELECT 'it''s; -- not a comment' AS x;", "it's; -- not a comment\n"],
    ['SELECT 1 AS "a;--b";;', '1\n'],
    ['SELECT $$;--$$ AS x;', ';--\n'],
    ['SELECT 2 AS x /* outer /* inner ; */ still a comment ; */;;', '2\n'],
  ])('runs %j: trailing semicolons and comments are not part of the SELECT', async (queryString, expected) => {
    await using s = scratch();
    await csv(queryString, s.out);
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe(expected);
  });

  it('answers at once a SELECT with many comment pairs (no backtracking on the query text)', async () => {
    await using s = scratch();
    const started = Date.now();
    await csv(`SELECT 1 -- ;\n${'/* */ '.repeat(30)}AS x`, s.out);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe('1\n');
  });

  it('stops a query past its time limit, naming the limit and its setting, and keeps nothing', async () => {
    await using s = scratch();
    const started = Date.now();
    const error = await materializeQuery({
      queryString: 'SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b',
      resultFormat: 'CSV',
      workspace: WORKSPACE,
      outDir: s.out,
      limits: { timeoutMs: 500 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryLimitExceededError);
    expect(error).toMatchObject({ statusCode: 'QUERY_FAILED' });
    expect((error as Error).message).toBe('The query ran longer than 0.5 seconds, the limit set by CRML_SQL_TIMEOUT_SECONDS, and was stopped.');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(s.out)).toBe(false);
  });

  it('stops a query whose result outgrows the size limit, naming it and its setting, and keeps nothing', async () => {
    await using s = scratch();
    const limits = { maxResultBytes: 100_000, sizeCheckIntervalMs: 20 };
    const error = await materializeQuery({
      queryString: 'SELECT range, md5(range::VARCHAR) FROM range(50000000)',
      resultFormat: 'CSV',
      workspace: WORKSPACE,
      outDir: s.out,
      limits,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryLimitExceededError);
    expect((error as Error).message).toMatch(/^The query's result is larger than 100000 bytes \(0\.00 GiB\), the limit set by CRML_SQL_MAX_RESULT_BYTES; it was stopped/);
    expect(existsSync(s.out)).toBe(false);
    // A small result over the last measurement is caught once it is written, too.
    const small = await materializeQuery({ queryString: 'SELECT range FROM range(30000)', resultFormat: 'CSV', workspace: WORKSPACE, outDir: s.out, limits: { maxResultBytes: 1000, sizeCheckIntervalMs: 60_000 } }).catch((e: unknown) => e);
    expect(small).toBeInstanceOf(QueryLimitExceededError);
    expect(existsSync(s.out)).toBe(false);
    await expect(materializeQuery({ queryString: 'SELECT 1', resultFormat: 'CSV', workspace: WORKSPACE, outDir: s.out, limits })).resolves.toMatchObject({ numberOfRecords: 1 });
  });

  it('runs the engine within the memory and thread limits it is given', async () => {
    await using s = scratch();
    await csv("SELECT current_setting('memory_limit'), current_setting('threads')", s.out);
    const defaults = readFileSync(join(s.out, 'part-00000.csv'), 'utf8');
    await removeMaterializedData(s.out);
    await materializeQuery({
      queryString: "SELECT current_setting('memory_limit'), current_setting('threads')",
      resultFormat: 'CSV',
      workspace: WORKSPACE,
      outDir: s.out,
      limits: { memoryLimit: '64MiB', threads: 1 },
    });
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe('64.0 MiB,1\n');
    expect(defaults).not.toBe('64.0 MiB,1\n');
  });

  it('writes a channel’s data once, and DeleteMLInputChannelData’s removal leaves nothing', async () => {
    await using s = scratch();
    await csv('SELECT id FROM customers', s.out);
    await expect(csv('SELECT id FROM customers', s.out)).rejects.toThrow(MaterializedDataExistsError);
    expect(readFileSync(join(s.out, 'part-00000.csv'), 'utf8')).toBe('1\n2\n3\n');
    await removeMaterializedData(s.out);
    expect(existsSync(s.out)).toBe(false);
    expect(readdirSync(join(s.dir, 'channel'))).toEqual([]);
    await expect(removeMaterializedData(s.out)).resolves.toBeUndefined();
  });

  it('stops the engine when the signal aborts, rejecting with its reason and leaving no data', async () => {
    await using s = scratch();
    const controller = new AbortController();
    const started = Date.now();
    const aborted = materializeQuery({
      queryString: 'SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b',
      resultFormat: 'CSV',
      workspace: WORKSPACE,
      outDir: join(s.dir, 'aborted'),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 300);
    const error = await aborted;
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(join(s.dir, 'aborted'))).toBe(false);
    await expect(
      materializeQuery({ queryString: 'SELECT 1', resultFormat: 'CSV', workspace: WORKSPACE, outDir: s.out, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(s.out)).toBe(false);
  });
});
