import { createReadStream } from 'node:fs';
import { lstat, opendir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

/**
 * A build folder as the tar stream the engine's build API reads, as `docker build DIR` sends it: every file and
 * folder under it except what its .dockerignore excludes. Links are sent as links, never followed (a link to
 * /etc must not carry the host's files into an image). Files are read one at a time as the engine takes them.
 */

interface IgnoreRule {
  pattern: RegExp;
  negate: boolean;
}

/**
 * A .dockerignore pattern as Docker reads it (Go's filepath.Match, plus `**` for any number of folders): `*` and
 * `?` stay within one path segment, `[…]` is a class. (Node 20's path.matchesGlob is experimental and warns.)
 */
export function dockerignorePattern(pattern: string): RegExp {
  const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` also matches no folder at all.
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^') || body.startsWith('!');
      if (negated) body = body.slice(1);
      re += `[${negated ? '^' : ''}${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += literal(pattern[++i]!);
    else re += literal(c);
  }
  return new RegExp(`^${re}$`);
}

/** .dockerignore's lines: `#` comments, blank lines skipped, `!` re-includes, a leading `/` means the same as none. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = posix.normalize(line).split('/').filter(Boolean).join('/');
    if (line === '' || line === '.') continue;
    rules.push({ pattern: dockerignorePattern(line), negate });
  }
  return rules;
}

/** Whether `rel` (posix, relative to the context) is excluded: the last rule matching it or a folder above it wins. */
export function isIgnored(rel: string, rules: readonly IgnoreRule[]): boolean {
  // Docker sends these whatever .dockerignore says: the builder needs them.
  if (rel === 'Dockerfile' || rel === '.dockerignore') return false;
  const parts = rel.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.pattern.test(p))) ignored = !rule.negate;
  }
  return ignored;
}

/** The tar stream of `folder`'s build context; a failure (an unreadable file) destroys the stream with it. */
export function buildContextTar(folder: string, opts: { dockerfile?: string } = {}): Readable {
  const pack = tar.pack();
  void (async () => {
    let rules: IgnoreRule[] = [];
    try {
      rules = parseDockerignore(await readFile(join(folder, '.dockerignore'), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const keep = (rel: string) => rel === opts.dockerfile || !isIgnored(rel, rules);
    // Without a `!` rule nothing under an excluded folder can come back: such a folder is not even walked.
    const canReinclude = rules.some((r) => r.negate);
    const stack = [''];
    while (stack.length > 0) {
      const relDir = stack.pop()!;
      const dir = await opendir(join(folder, relDir));
      for await (const entry of dir) {
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        const abs = join(folder, rel);
        const kept = keep(rel);
        const info = await lstat(abs);
        const header = { name: rel, mode: info.mode & 0o7777, mtime: info.mtime };
        if (info.isDirectory()) {
          if (kept) await entryDone(pack, { ...header, type: 'directory' });
          if (kept || canReinclude) stack.push(rel);
        } else if (!kept) {
          continue;
        } else if (info.isSymbolicLink()) {
          await entryDone(pack, { ...header, type: 'symlink', linkname: await readlink(abs) });
        } else if (info.isFile()) {
          await pipeline(createReadStream(abs), pack.entry({ ...header, type: 'file', size: info.size }));
        }
        // Sockets, FIFOs and devices are not build context (docker build skips them too).
      }
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack as unknown as Readable;
}

function entryDone(pack: tar.Pack, header: Parameters<tar.Pack['entry']>[0]): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));
}
