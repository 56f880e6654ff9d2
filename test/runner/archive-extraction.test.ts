import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArchiveExtractionError, extractArchiveSafely } from '../../src/runner/archive-extraction.js';

type Entry = Partial<tar.Header> & { name: string; body?: string };

/** A model.tar.gz written entry by entry, as a hostile container could write it. */
async function writeTarGz(path: string, entries: Entry[]): Promise<string> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(path));
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(header, body ?? '', (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  await done;
  return path;
}

describe('extractArchiveSafely (a model.tar.gz or output.tar.gz a hostile container wrote)', () => {
  let work: string;
  let outside: string;
  let dest: string;
  let archive: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'crml-extract-test-'));
    outside = join(work, 'outside');
    dest = join(work, 'dest', 'model');
    archive = join(work, 'model.tar.gz');
    await mkdir(outside);
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  it('lays out files and folders, names relative to the archive, readable and never writable', async () => {
    await writeTarGz(archive, [
      { name: './', type: 'directory' },
      { name: 'model.json', body: '{}', mode: 0o4777 },
      { name: 'sub/w.npy', body: 'abc', mode: 0o600 },
    ]);
    const r = await extractArchiveSafely(archive, dest);
    expect(r).toMatchObject({ files: ['model.json', 'sub/w.npy'], bytes: 5, skipped: [] });
    expect(await readFile(join(dest, 'model.json'), 'utf8')).toBe('{}');
    expect(await readFile(join(dest, 'sub/w.npy'), 'utf8')).toBe('abc');
    expect((await stat(join(dest, 'model.json'))).mode & 0o7777).toBe(0o555);
    expect((await stat(join(dest, 'sub/w.npy'))).mode & 0o7777).toBe(0o444);
  });

  it.each([
    ['../evil.txt', "model.tar.gz entry '../evil.txt' leaves the folder ('..'); nothing is extracted outside the folder."],
    ['sub/../../evil.txt', /leaves the folder/],
    ['/tmp/crml-evil.txt', /is an absolute path/],
  ])('refuses the whole archive for an entry %s that leaves the folder, and writes nothing outside', async (name, message) => {
    await writeTarGz(archive, [{ name: 'model.json', body: '{}' }, { name, body: 'x' }]);
    const refused = extractArchiveSafely(archive, dest);
    await expect(refused).rejects.toThrow(ArchiveExtractionError);
    await expect(refused).rejects.toThrow(message);
    for (const path of [join(work, 'dest', 'evil.txt'), join(work, 'evil.txt'), '/tmp/crml-evil.txt']) await expect(lstat(path)).rejects.toThrow();
  });

  it('never makes or follows a link: links are left out, a file "through" one lands in a real folder inside', async () => {
    await writeTarGz(archive, [
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/pwned', body: 'written through a link' },
      { name: 'hard', type: 'link', linkname: '../outside/anything' },
      { name: 'weights/w.npy', body: 'weights' },
      { name: 'alias', type: 'symlink', linkname: 'weights/w.npy' },
      { name: 'fifo', type: 'fifo' },
    ]);
    const r = await extractArchiveSafely(archive, dest);
    expect(await readdir(outside)).toEqual([]);
    expect((await lstat(join(dest, 'escape'))).isDirectory()).toBe(true);
    expect(await readdir(join(dest, 'escape'))).toEqual(['pwned']);
    for (const gone of ['hard', 'alias', 'fifo']) await expect(lstat(join(dest, gone))).rejects.toThrow();
    expect(r.files).toEqual(['escape/pwned', 'weights/w.npy']);
    expect(r.skipped).toEqual([`escape: a symbolic link (to ${outside})`, 'hard: a hard link', 'alias: a symbolic link (to weights/w.npy)', 'fifo: a fifo entry']);
  });

  it('refuses an entry of a name that came before, and never writes through a link planted in the folder', async () => {
    await writeTarGz(archive, [{ name: 'a.txt', body: 'first' }, { name: 'a.txt', body: 'second' }]);
    await expect(extractArchiveSafely(archive, dest)).rejects.toThrow("model.tar.gz entry 'a.txt' cannot be written (EEXIST); is it in the archive twice?");
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('first');

    const planted = join(work, 'planted');
    await mkdir(planted);
    await symlink(outside, join(planted, 'sub'));
    await writeFile(join(planted, 'f'), 'there');
    await writeTarGz(archive, [{ name: 'sub/x', body: 'x' }]);
    await expect(extractArchiveSafely(archive, planted)).rejects.toThrow("model.tar.gz entry 'sub' cannot be made: 'sub' is not a folder.");
    await writeTarGz(archive, [{ name: 'f', body: 'x' }]);
    await expect(extractArchiveSafely(archive, planted)).rejects.toThrow(/'f' cannot be written \(EEXIST\)/);
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(planted, 'f'), 'utf8')).toBe('there');
  });

  it('says which archive cannot be read', async () => {
    await writeFile(archive, 'not gzip');
    await expect(extractArchiveSafely(archive, dest)).rejects.toThrow(`model.tar.gz (${archive}) cannot be read:`);
  });
});
