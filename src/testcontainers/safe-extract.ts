import { constants, createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, rm, symlink, unlink } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';

/** What an extraction wrote, and every entry it left out with why (named as in the archive). */
export interface ExtractedArchive {
  dir: string;
  files: string[];
  skipped: string[];
}

/** `a//b/./c/` → `a/b/c`; undefined for the root itself, an absolute name or one with `..` (it would leave the folder). */
function safeName(name: string): string | undefined {
  if (name.startsWith('/') || name.includes('\0')) return undefined;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  return parts.join('/');
}

/**
 * Makes every folder of `name` under `root`, refusing one that exists as anything but a real folder: a link
 * planted by an earlier entry is never gone through. Returns false when refused.
 */
async function makeParents(root: string, name: string): Promise<boolean> {
  let dir = root;
  for (const part of name.split('/').slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (!st) await mkdir(dir);
    else if (!st.isDirectory()) return false;
  }
  return true;
}

/** Whether `target` of a link at `name` stays below the link's own folder (relative, without `..`). */
function linkStaysInside(target: string): boolean {
  return !target.startsWith('/') && !target.includes('\0') && !target.split('/').includes('..');
}

/**
 * Extracts a `.tar.gz` (a run's model.tar.gz or output.tar.gz, written by an untrusted container) into `dir`,
 * streaming, so that nothing is written or points outside it. Decided: entries with an absolute name or `..` are
 * skipped; files are created anew (O_EXCL, O_NOFOLLOW), never through a link; nothing is written under a link;
 * symbolic links are kept only when their target is relative without `..` and, once everything is out, resolves
 * inside `dir` (else removed); hard links, devices and FIFOs are skipped; modes keep only the permission bits.
 */
export async function extractArchiveSafely(archive: string, dir: string): Promise<ExtractedArchive> {
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const result: ExtractedArchive = { dir: root, files: [], skipped: [] };
  const links: string[] = [];
  const extract = tar.extract();

  const consume = async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const skip = (why: string) => void result.skipped.push(`${h.name}: ${why}`);
      const name = safeName(h.name);
      try {
        if (name === undefined) {
          if (h.name.split('/').some((p) => p !== '' && p !== '.')) skip('its name leaves the folder');
          continue;
        }
        if (!(await makeParents(root, name))) {
          skip('a folder on its path is a link or a file');
          continue;
        }
        const target = join(root, ...name.split('/'));
        const existing = await lstat(target).catch(() => undefined);
        if (h.type === 'directory') {
          if (!existing) await mkdir(target, { mode: (h.mode ?? 0o755) & 0o777 });
          else if (!existing.isDirectory()) skip('a link or a file of that name came first');
        } else if (h.type === 'file' || h.type === 'contiguous-file') {
          if (existing?.isDirectory() || existing?.isSymbolicLink()) {
            skip('a folder or link of that name came first');
            continue;
          }
          // A later entry of the same name replaces a file, as tar does; the new file is ours alone (O_EXCL).
          if (existing) await unlink(target);
          const fd = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, (h.mode ?? 0o644) & 0o777);
          await pipeline(entry, createWriteStream('', { fd }));
          result.files.push(name);
          continue;
        } else if (h.type === 'symlink') {
          const linkTarget = h.linkname ?? '';
          if (!linkStaysInside(linkTarget)) skip(`a link to ${linkTarget}, outside the folder`);
          else if (existing) skip('a file, folder or link of that name came first');
          else {
            await symlink(linkTarget, target);
            links.push(target);
          }
        } else {
          skip(h.type === 'link' ? 'a hard link' : `a ${h.type ?? 'special'} entry`);
        }
      } finally {
        entry.resume();
      }
    }
  };
  const consumed = consume().catch((e: unknown) => {
    extract.destroy(e as Error);
    throw e;
  });
  await Promise.all([pipeline(createReadStream(archive), createGunzip(), extract), consumed]);

  // Links kept only point down, but a chain of them may still end outside: each must resolve inside, now.
  for (const link of links) {
    const resolved = await realpath(link).catch(() => undefined);
    if (resolved === undefined || (resolved !== root && !resolved.startsWith(root + sep))) {
      const to = await readlink(link).catch(() => '?');
      await rm(link, { force: true });
      const why = resolved === undefined ? 'resolves to nothing' : 'resolves outside the folder';
      result.skipped.push(`${link.slice(root.length + 1).split(sep).join(posix.sep)}: a link to ${to} that ${why}`);
    }
  }
  return result;
}
