import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractArchiveSafely } from '../../src/testcontainers/safe-extract.js';

type Entry = Partial<tar.Header> & { name: string; body?: string };

async function writeTarGz(path: string, entries: Entry[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(path));
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(header, body ?? '', (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  await done;
}

describe('extractArchiveSafely (a model.tar.gz a hostile container wrote)', () => {
  let work: string;
  let outside: string;
  let dest: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'crml-tc-extract-test-'));
    outside = join(work, 'outside');
    dest = join(work, 'dest', 'model');
    await mkdir(outside);
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  it('writes nothing outside the folder: no ../ entry, no absolute name, no link out, nothing through a link', async () => {
    const archive = join(work, 'model.tar.gz');
    await writeTarGz(archive, [
      { name: 'model.json', body: '{"w":1}' },
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/pwned', body: 'written through a link' },
      { name: '../x', body: 'parent' },
      { name: 'sub/../../y', body: 'parent again' },
      { name: `${outside}/abs`, body: 'absolute' },
      { name: 'up', type: 'symlink', linkname: '../outside' },
      { name: 'here', type: 'symlink', linkname: '.' },
      // Lexically inside, really outside (here/.. is the folder's parent): no link target may hold `..`.
      { name: 'chain', type: 'symlink', linkname: 'here/..' },
      { name: 'hard', type: 'link', linkname: '../outside/anything' },
      { name: 'weights/w.npy', body: 'weights' },
      { name: 'alias', type: 'symlink', linkname: 'weights/w.npy' },
      { name: 'wlink', type: 'symlink', linkname: 'weights' },
      { name: 'wlink/extra', body: 'under a link' },
    ]);
    const result = await extractArchiveSafely(archive, dest);

    expect(await readdir(outside)).toEqual([]);
    await expect(lstat(join(work, 'dest', 'x'))).rejects.toThrow();
    await expect(lstat(join(work, 'x'))).rejects.toThrow();
    await expect(lstat(join(work, 'y'))).rejects.toThrow();
    expect(await readFile(join(dest, 'model.json'), 'utf8')).toBe('{"w":1}');
    expect(await readFile(join(dest, 'weights', 'w.npy'), 'utf8')).toBe('weights');
    // A link that stays inside is kept as a link.
    expect(await readlink(join(dest, 'alias'))).toBe('weights/w.npy');
    expect(await readFile(join(dest, 'alias'), 'utf8')).toBe('weights');
    // The link `escape` was skipped, so escape/pwned is an ordinary file in an ordinary folder, inside.
    expect((await lstat(join(dest, 'escape'))).isDirectory()).toBe(true);
    expect(await readdir(join(dest, 'weights'))).toEqual(['w.npy']);
    for (const gone of ['etc', 'up', 'chain', 'hard']) await expect(lstat(join(dest, gone))).rejects.toThrow();
    expect(result.files.sort()).toEqual(['escape/pwned', 'model.json', 'weights/w.npy']);
    const why = result.skipped.join('\n');
    expect(why).toContain('etc: a link to /etc, outside the folder');
    expect(why).toContain('wlink/extra: a folder on its path is a link or a file');
    expect(why).toContain('../x: its name leaves the folder');
    expect(why).toContain('chain: a link to here/.., outside the folder');
    expect(why).toContain('hard: a hard link');
  });

  it('a later entry of the same name replaces a file but never writes through a link of that name', async () => {
    const archive = join(work, 'model.tar.gz');
    await writeTarGz(archive, [
      { name: 'a.txt', body: 'first' },
      { name: 'a.txt', body: 'second' },
      { name: 'l', type: 'symlink', linkname: 'a.txt' },
      { name: 'l', body: 'through the link' },
    ]);
    const result = await extractArchiveSafely(archive, dest);
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('second');
    expect(result.skipped.join('\n')).toContain('l: a folder or link of that name came first');
  });
});
