import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { materializeQuery, removeMaterializedData, QueryFailedError } from '../../src/channels/sql-query.js';
import { loadWorkspace } from '../../src/channels/workspace.js';

const TABLES = join(import.meta.dirname, '../fixtures/tables');

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'crml-ws-'));
  const file = join(dir, 'workspace.json');
  writeFileSync(
    file,
    JSON.stringify({
      tables: {
        customers: { path: join(TABLES, 'customers.csv'), header: false },
        purchases: { path: join(TABLES, 'purchases.csv'), header: true },
      },
    }),
  );
  return { dir, tables: loadWorkspace(file), [Symbol.dispose]: () => void removeMaterializedData(join(dir, 'out')).then(() => rmSync(dir, { recursive: true, force: true })) };
}

describe('SQL-backed channel data', () => {
  it('materialises a join of two local CSV tables as headerless CSV in SELECT order, read-only', async () => {
    using ws = workspace();
    const outDir = join(ws.dir, 'out');
    const r = await materializeQuery({
      queryString: 'SELECT p.amount, c.column1 AS name FROM purchases p JOIN customers c ON c.column0 = p.customer_id ORDER BY p.amount',
      resultFormat: 'CSV',
      tables: ws.tables,
      outDir,
    });
    expect(r).toMatchObject({ numberOfRecords: 3, numberOfFiles: 1 });
    expect(readFileSync(join(outDir, 'part-00000.csv'), 'utf8')).toBe('4.5,Ada\n7.0,Cy\n10.5,Ada\n');
    expect(statSync(join(outDir, 'part-00000.csv')).mode & 0o222).toBe(0);
    await removeMaterializedData(outDir);
    expect(existsSync(outDir)).toBe(false);
  });

  it('writes Parquet that reads back', async () => {
    using ws = workspace();
    const outDir = join(ws.dir, 'out');
    await materializeQuery({ queryString: 'SELECT column0 AS id, column2 AS age FROM customers', resultFormat: 'PARQUET', tables: ws.tables, outDir });
    expect(readdirSync(outDir)).toEqual(['part-00000.parquet']);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const rows = (await c.runAndReadAll(`SELECT id, age FROM read_parquet('${join(outDir, 'part-00000.parquet')}') ORDER BY id`)).getRows();
    expect(rows.map((r) => r.map(Number))).toEqual([[1, 42], [2, 17], [3, 99]]);
    c.closeSync();
    db.closeSync();
  });

  it("fails with the engine's words for bad SQL and a missing table, and refuses anything but one SELECT", async () => {
    using ws = workspace();
    const outDir = join(ws.dir, 'out');
    await expect(materializeQuery({ queryString: 'SELEC 1', resultFormat: 'CSV', tables: ws.tables, outDir })).rejects.toThrow(QueryFailedError);
    await expect(materializeQuery({ queryString: 'SELECT * FROM nowhere', resultFormat: 'CSV', tables: ws.tables, outDir })).rejects.toThrow(/nowhere/);
    await expect(
      materializeQuery({ queryString: "COPY customers TO '/tmp/x.csv'", resultFormat: 'CSV', tables: ws.tables, outDir }),
    ).rejects.toThrow(/single SELECT/);
    await expect(
      materializeQuery({ queryString: 'SELECT 1; DROP VIEW customers', resultFormat: 'CSV', tables: ws.tables, outDir }),
    ).rejects.toThrow(/single statement/);
  });
});
