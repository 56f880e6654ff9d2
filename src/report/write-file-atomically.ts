import { constants } from 'node:fs';
import { open, realpath, rename, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

/** A new file only: never one that exists, and never through a link (someone may have planted one). */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes `chunks` to `file` all at once or not at all: into a new temporary file beside it, then renamed over its
 * name. A link planted at `file` is replaced, never followed; a reader never sees half a page. The folder itself
 * is resolved once (a link to a folder is the user's own choice, as for `crml artifacts --to`).
 * Returns the path written.
 */
export async function writeFileAtomically(file: string, chunks: Iterable<string>): Promise<string> {
  const target = resolve(file);
  const dir = await realpath(dirname(target));
  const temp = join(dir, `.${basename(target)}.${randomUUID()}.partial`);
  try {
    const out = await open(temp, NEW_FILE, 0o644);
    try {
      for (const chunk of chunks) await out.write(chunk);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(temp, join(dir, basename(target)));
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  return target;
}
