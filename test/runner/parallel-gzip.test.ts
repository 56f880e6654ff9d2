import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parallelGzip } from '../../src/runner/parallel-gzip.js';

/** `bytes` of text in chunks of odd sizes, as a tar stream arrives. */
function* text(bytes: number): Generator<Buffer> {
  let made = 0;
  for (let i = 0; made < bytes; i++) {
    const chunk = Buffer.from(`line ${i} w=${(i * 0.123).toFixed(6)} b=${i % 97}\n`.repeat(1 + (i % 700)));
    const part = chunk.subarray(0, Math.min(chunk.length, bytes - made));
    made += part.length;
    yield part;
  }
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('parallelGzip (model.tar.gz on every core)', () => {
  it('writes members that gunzip, Python\'s gzip (SageMaker opens model.tar.gz with tarfile) and Node read as the input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-pgzip-'));
    try {
      for (const bytes of [0, 1000, 13 * 1024 * 1024 + 7]) {
        const input = Buffer.concat([...text(bytes)]);
        const file = join(dir, `${bytes}.gz`);
        await pipeline(Readable.from(text(bytes)), parallelGzip({ level: 6, concurrency: 2 }), createWriteStream(file));
        expect(execFileSync('sh', ['-c', `gzip -dc "${file}" | sha256sum`], { encoding: 'utf8' }).split(' ')[0]).toBe(sha(input));
        expect(sha(gunzipSync(readFileSync(file)))).toBe(sha(input));
        expect(execFileSync('python3', ['-c', 'import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())', file], { encoding: 'utf8' }).trim()).toBe(sha(input));
        // gzip -t checks every member's CRC and length.
        execFileSync('gzip', ['-t', file]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
