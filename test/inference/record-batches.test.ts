import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordBatches, RecordTooLargeError } from '../../src/inference/record-batches.js';

function file(content: string | Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'crml-batches-')), 'in.csv');
  writeFileSync(path, content);
  return path;
}

async function all(path: string, max: number, split = true) {
  const out = [];
  for await (const b of recordBatches(path, max, split, 'in.csv')) out.push({ body: b.body.toString(), firstRecord: b.firstRecord, records: b.records });
  return out;
}

describe('recordBatches', () => {
  it('fills each request up to the limit with whole records, in order', async () => {
    expect(await all(file('aaa\nbbb\nccc\nddd\n'), 8)).toEqual([
      { body: 'aaa\nbbb\n', firstRecord: 1, records: 2 },
      { body: 'ccc\nddd\n', firstRecord: 3, records: 2 },
    ]);
  });

  it('keeps a last record without a newline, and leaves blank lines out', async () => {
    expect(await all(file('a\n\nb\r\n\nc'), 100)).toEqual([{ body: 'a\nb\r\nc', firstRecord: 1, records: 3 }]);
  });

  it('splits a large file at line ends only, across read chunks, never above the limit', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `${i},${'x'.repeat(i % 37)}\n`);
    const batches = await all(file(lines.join('')), 64 * 1024);
    expect(batches.map((b) => b.body).join('')).toBe(lines.join(''));
    for (const b of batches) {
      expect(Buffer.byteLength(b.body)).toBeLessThanOrEqual(64 * 1024);
      expect(b.body.endsWith('\n')).toBe(true);
    }
    expect(batches.reduce((n, b) => n + b.records, 0)).toBe(lines.length);
  });

  it('refuses a record larger than the limit, naming its line, rather than splitting it', async () => {
    await expect(all(file(`ok\n${'y'.repeat(20)}\n`), 10)).rejects.toThrow(
      new RecordTooLargeError('Line 2 of in.csv is 21 bytes or more, larger than containerExecutionParameters.maxPayloadInMB (10 bytes); a record is never split.'),
    );
  });

  it('sends a file that is not split by lines (Parquet) whole, or refuses it when larger than the limit', async () => {
    expect(await all(file('PAR1\nxx'), 100, false)).toEqual([{ body: 'PAR1\nxx', firstRecord: 1, records: 1 }]);
    await expect(all(file('x'.repeat(20)), 10, false)).rejects.toThrow(/^The file of in.csv is 20 bytes or more/);
  });
});
