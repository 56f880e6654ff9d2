import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { parallelGzip } from '../../src/runner/parallel-gzip.js';

const work = mkdtempSync(join(tmpdir(), 'crml-parallel-gzip-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Text (compressible) and random bytes (not), in sizes that do not fall on block boundaries. */
function sample(): Buffer {
  const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `layer=${i % 97} w=${(i * 0.37).toFixed(5)}\n`).join(''));
  return Buffer.concat([text, randomBytes(300_001), text.subarray(0, 123_457), randomBytes(7)]);
}

async function compress(input: Buffer, file: string, blockBytes: number, pieces = 65_536): Promise<Buffer> {
  const chunks = Array.from({ length: Math.ceil(input.length / pieces) }, (_, i) => input.subarray(i * pieces, (i + 1) * pieces));
  await pipeline(Readable.from(chunks), parallelGzip({ level: 6, blockBytes, concurrency: 3 }), createWriteStream(file));
  return readFileSync(file);
}

describe('parallel gzip (model.tar.gz on every core): one gzip member every reader takes as gzip\'s own', () => {
  it('round-trips through gzip -d, Node and Python, in one member, and compresses as well as gzip -6', async () => {
    const input = sample();
    const file = join(work, 'sample.gz');
    // Blocks of 64 KiB: dozens of them, each primed with the one before.
    const gz = await compress(input, file, 65_536);
    expect(execFileSync('gzip', ['-dc', file], { maxBuffer: 64 << 20 }).equals(input)).toBe(true);
    expect(gunzipSync(gz).equals(input)).toBe(true);
    const py = execFileSync('python3', ['-c', `
import sys, zlib
data = open(sys.argv[1], 'rb').read()
d = zlib.decompressobj(31)
out = d.decompress(data)
print(d.eof, len(d.unused_data), len(out))`, file], { encoding: 'utf8' }).trim();
    expect(py).toBe(`True 0 ${input.length}`);
    writeFileSync(join(work, 'plain'), input);
    const gzipSize = execFileSync('sh', ['-c', `gzip -6 -c "${join(work, 'plain')}" | wc -c`], { encoding: 'utf8' }).trim();
    expect(gz.length).toBeLessThan(Number(gzipSize) * 1.01);
  });

  it('an empty input is a valid empty gzip', async () => {
    const gz = await compress(Buffer.alloc(0), join(work, 'empty.gz'), 65_536);
    expect(gunzipSync(gz).length).toBe(0);
    expect(execFileSync('gzip', ['-t', join(work, 'empty.gz')]).length).toBe(0);
  });

  it('a tar.gz made with it streams through Python tarfile in r|gz mode (which reads only a first member)', async () => {
    const folder = join(work, 'folder');
    execFileSync('sh', ['-c', `mkdir -p "${folder}" && head -c 3000000 /dev/urandom > "${folder}/weights.bin" && seq 1 200000 > "${folder}/vocab.txt"`]);
    const tarFile = join(work, 'plain.tar');
    execFileSync('tar', ['cf', tarFile, '-C', folder, '.']);
    const archive = join(work, 'model.tar.gz');
    await pipeline(createReadStream(tarFile), parallelGzip({ level: 6, blockBytes: 1 << 20 }), createWriteStream(archive));
    const listed = execFileSync('python3', ['-c', `
import hashlib, sys, tarfile
with open(sys.argv[1], 'rb') as f, tarfile.open(fileobj=f, mode='r|gz') as t:
    for m in t:
        if m.isfile(): print(m.name, hashlib.sha256(t.extractfile(m).read()).hexdigest())`, archive], { encoding: 'utf8' }).trim().split('\n').sort();
    const sha = (name: string) => createHash('sha256').update(readFileSync(join(folder, name))).digest('hex');
    expect(listed).toEqual([`./vocab.txt ${sha('vocab.txt')}`, `./weights.bin ${sha('weights.bin')}`]);
  });

  it('a failing source fails the pipeline with its error', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk went away'));
      },
    });
    await expect(pipeline(failing, parallelGzip({ level: 6 }), createWriteStream(join(work, 'failed.gz')))).rejects.toThrow('disk went away');
  });
});
