import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { buildContextTar, isIgnored, parseDockerignore } from '../../src/runner/build-context.js';

/** The entries of a build context's tar, as the engine would read them. */
async function entries(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      out[header.name] = header.type === 'symlink' ? `-> ${header.linkname}` : header.type!;
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  buildContextTar(folder).pipe(extract);
  await done;
  return out;
}

describe('build context', () => {
  it("reads .dockerignore as Docker does: globs within a segment, ** across them, folders, '!' re-includes", () => {
    const rules = parseDockerignore('# comment\n\n*.log\n!keep.log\n/build/\ndocs/**/*.md\n.git\n');
    const ignored = (p: string) => isIgnored(p, rules);
    expect(ignored('a.log')).toBe(true);
    expect(ignored('sub/a.log')).toBe(false);
    expect(ignored('keep.log')).toBe(false);
    expect(ignored('build/out/x.o')).toBe(true);
    expect(ignored('docs/a/b/c.md')).toBe(true);
    expect(ignored('docs/c.md')).toBe(true);
    expect(ignored('.git/config')).toBe(true);
    expect(ignored('train.py')).toBe(false);
    // The builder needs these, whatever .dockerignore says.
    expect(isIgnored('Dockerfile', parseDockerignore('*'))).toBe(false);
  });

  it('streams the folder without what .dockerignore excludes, and sends links as links', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-context-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
      writeFileSync(join(dir, '.dockerignore'), 'cache\n*.tmp\n');
      writeFileSync(join(dir, 'train.py'), 'print(1)\n');
      writeFileSync(join(dir, 'x.tmp'), '');
      mkdirSync(join(dir, 'cache/deep'), { recursive: true });
      writeFileSync(join(dir, 'cache/deep/big.bin'), 'x');
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'src/lib.py'), '');
      symlinkSync('/etc/passwd', join(dir, 'passwd'));
      expect(await entries(dir)).toEqual({
        Dockerfile: 'file',
        '.dockerignore': 'file',
        'train.py': 'file',
        src: 'directory',
        'src/lib.py': 'file',
        passwd: '-> /etc/passwd',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
