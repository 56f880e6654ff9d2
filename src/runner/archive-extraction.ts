import { constants, createReadStream } from 'node:fs';
import { lstat, mkdir, open, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';

/** An archive that cannot be laid out safely (or read at all): names the archive, the entry and why. */
export class ArchiveExtractionError extends Error {
  override readonly name = 'ArchiveExtractionError';
}

/** What an extraction wrote (names as in the archive), and every entry it left out with why. */
export interface ExtractedArchive {
  dir: string;
  files: string[];
  bytes: number;
  skipped: string[];
}

/** A new file only, never through a link. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** `./a//b/` → `a/b`; undefined for the archive's root; throws for a name that would leave the folder. */
function safeName(archive: string, raw: string): string | undefined {
  const refuse = (why: string) => new ArchiveExtractionError(`${archive} entry '${raw}' ${why}; nothing is extracted outside the folder.`);
  if (raw.startsWith('/')) throw refuse('is an absolute path');
  if (raw.includes('\0')) throw refuse('holds a NUL character');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse("leaves the folder ('..')");
  return parts.length === 0 ? undefined : parts.join('/');
}

/**
 * Extracts a `.tar.gz` written by an untrusted container (a run's model.tar.gz or output.tar.gz) into `dir`,
 * streaming with backpressure. One policy for every caller (the inference model folder, TrainingContainer's
 * result), **decided**, the stricter wherever two earlier versions differed:
 * - an entry with an absolute name, `..` or a NUL, an entry of a name that came before, or one whose path crosses
 *   something that is not a folder refuses the whole archive (ArchiveExtractionError), so nothing half-safe is used;
 * - files are created anew (O_EXCL, O_NOFOLLOW), readable by all, executable as archived, never writable and never
 *   set-id; folders are made by this function alone (0755);
 * - links are never made: symbolic and hard links, devices and FIFOs are left out and listed in `skipped`. A kept
 *   link, even a relative one inside, is a path every later reader (the tar the inference runner sends through the
 *   archive API, a test's readFile, the matchers) would have to resolve with care; with none, the folder holds only
 *   files and folders this process wrote, so nothing downstream can be led outside it. The price: a model that
 *   relies on a link of its own sees it missing, and `skipped` says so.
 */
export async function extractArchiveSafely(archive: string, dir: string): Promise<ExtractedArchive> {
  const label = basename(archive);
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const result: ExtractedArchive = { dir: root, files: [], bytes: 0, skipped: [] };
  const made = new Set<string>(['']);
  const written = new Set<string>();
  const refuse = (name: string, why: string) => new ArchiveExtractionError(`${label} entry '${name}' ${why}.`);

  /** Makes `rel` and its parents as real folders; one that exists as anything else (planted before) refuses. */
  const ensureDir = async (rel: string) => {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      if (made.has(sub)) continue;
      const path = join(root, ...sub.split('/'));
      const st = await lstat(path).catch(() => undefined);
      if (!st) await mkdir(path, { mode: 0o755 });
      else if (!st.isDirectory() || st.isSymbolicLink()) throw refuse(rel, `cannot be made: '${sub}' is not a folder`);
      made.add(sub);
    }
  };

  const extract = tar.extract();
  const consume = async () => {
    for await (const entry of extract) {
      const h = entry.header;
      try {
        const name = safeName(label, h.name);
        if (name === undefined) continue;
        if (h.type === 'directory') {
          if (written.has(name)) throw refuse(name, 'is a folder of the name of a file that came before');
          await ensureDir(name);
          continue;
        }
        if (h.type !== 'file' && h.type !== 'contiguous-file') {
          const what = h.type === 'symlink' ? `a symbolic link (to ${h.linkname ?? '?'})` : h.type === 'link' ? 'a hard link' : `a ${h.type ?? 'special'} entry`;
          result.skipped.push(`${name}: ${what}`);
          continue;
        }
        const slash = name.lastIndexOf('/');
        if (slash > 0) await ensureDir(name.slice(0, slash));
        let out;
        try {
          out = await open(join(root, ...name.split('/')), NEW_FILE, 0o444 | ((h.mode ?? 0) & 0o111));
        } catch (e) {
          throw refuse(name, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is it in the archive twice?`);
        }
        await pipeline(entry, out.createWriteStream());
        written.add(name);
        result.files.push(name);
        result.bytes += h.size ?? 0;
      } finally {
        entry.resume();
      }
    }
  };
  try {
    await Promise.all([
      pipeline(createReadStream(archive), createGunzip(), extract),
      consume().catch((e: unknown) => {
        extract.destroy(e as Error);
        throw e;
      }),
    ]);
  } catch (e) {
    if (e instanceof ArchiveExtractionError) throw e;
    throw new ArchiveExtractionError(`${label} (${archive}) cannot be read: ${(e as Error).message}`);
  }
  return result;
}
