import { describe, expect, it } from 'vitest';
import { createWriteStream, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { extractModel, ModelExtractionError } from '../../src/inference/model-extraction.js';

type Entry = { name: string; type?: tar.Header['type']; body?: string; linkname?: string };

/** A model.tar.gz written entry by entry, as a hostile archive could be. */
async function archive(entries: Entry[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'crml-model-'));
  const path = join(dir, 'model.tar.gz');
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(path));
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname }, e.body ?? '');
  pack.finalize();
  await written;
  return path;
}

const fresh = () => join(mkdtempSync(join(tmpdir(), 'crml-extract-')), 'model');

describe('extractModel', () => {
  it('lays out files and folders, names relative to the archive', async () => {
    const to = fresh();
    const r = await extractModel(await archive([{ name: './', type: 'directory' }, { name: 'model.json', body: '{}' }, { name: 'sub/w.npy', body: 'abc' }]), to);
    expect(r).toEqual({ files: 2, bytes: 5, skipped: [] });
    expect(readFileSync(join(to, 'model.json'), 'utf8')).toBe('{}');
    expect(readFileSync(join(to, 'sub/w.npy'), 'utf8')).toBe('abc');
  });

  it('refuses an entry that leaves the folder, by .. or an absolute name, and writes nothing outside', async () => {
    const to = fresh();
    await expect(extractModel(await archive([{ name: '../evil.txt', body: 'x' }]), to)).rejects.toThrow(
      new ModelExtractionError("model.tar.gz entry '../evil.txt' leaves the model folder ('..'); nothing is extracted outside it."),
    );
    expect(existsSync(join(to, '..', 'evil.txt'))).toBe(false);
    await expect(extractModel(await archive([{ name: '/tmp/evil.txt', body: 'x' }]), fresh())).rejects.toThrow(/is an absolute path/);
  });

  it('never makes or follows a link: a symlink to a folder outside, then a file written "through" it, stays inside', async () => {
    const to = fresh();
    const r = await extractModel(
      await archive([
        { name: 'out', type: 'symlink', linkname: '/tmp' },
        { name: 'hard', type: 'link', linkname: '/etc/passwd' },
        { name: 'out/planted.txt', body: 'x' },
      ]),
      to,
    );
    expect(r.skipped).toEqual(['out (symlink)', 'hard (link)']);
    expect(lstatSync(join(to, 'out')).isDirectory()).toBe(true);
    expect(readdirSync(join(to, 'out'))).toEqual(['planted.txt']);
    expect(existsSync(join(to, 'hard'))).toBe(false);
  });

  it('says which archive cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-model-'));
    const path = join(dir, 'model.tar.gz');
    await pipeline(async function* () {
      yield Buffer.from('not gzip');
    }, createWriteStream(path));
    await expect(extractModel(path, fresh())).rejects.toThrow(`model.tar.gz (${path}) cannot be read:`);
  });
});
