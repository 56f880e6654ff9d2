import { constants, createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';

/** A model.tar.gz that cannot be laid out safely: names the entry and why. */
export class ModelExtractionError extends Error {
  override readonly name = 'ModelExtractionError';
}

/** A new file only, never through a link (nothing here makes links, but the folder must not be trusted blindly). */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** `./a//b/` → `a/b`; undefined for the archive's root; throws for a name that leaves the folder. */
function safeName(raw: string): string | undefined {
  if (raw.startsWith('/')) throw new ModelExtractionError(`model.tar.gz entry '${raw}' is an absolute path; nothing is extracted outside the model folder.`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ModelExtractionError(`model.tar.gz entry '${raw}' leaves the model folder ('..'); nothing is extracted outside it.`);
  return parts.length === 0 ? undefined : parts.join('/');
}

/**
 * Extracts a trained model's model.tar.gz into `destination` (a fresh folder), as the inference container sees
 * /opt/ml/model: files and folders only, every name checked to stay inside, and links never made nor followed
 * (a symlink or hard link entry is left out and reported in `skipped`: the service's own packaging keeps links,
 * but an extractor that recreated one could be led outside the folder). Streams with backpressure.
 */
export async function extractModel(archive: string, destination: string): Promise<{ files: number; bytes: number; skipped: string[] }> {
  await mkdir(destination, { recursive: true });
  const extract = tar.extract();
  const result = { files: 0, bytes: 0, skipped: [] as string[] };
  const made = new Set<string>(['']);
  const ensureDir = async (rel: string) => {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      if (made.has(sub)) continue;
      // mkdir never follows a link at the last part; the parts before it were all made here.
      await mkdir(join(destination, sub)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      made.add(sub);
    }
  };
  const consume = async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = safeName(h.name);
      if (name === undefined || h.type === 'directory') {
        if (name !== undefined) await ensureDir(name);
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        result.skipped.push(`${name} (${h.type ?? 'unknown'})`);
        entry.resume();
        continue;
      }
      const slash = name.lastIndexOf('/');
      if (slash > 0) await ensureDir(name.slice(0, slash));
      let out;
      try {
        out = await open(join(destination, name), NEW_FILE, 0o444);
      } catch (e) {
        throw new ModelExtractionError(`model.tar.gz entry '${name}' cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is it in the archive twice?`);
      }
      await pipeline(entry, out.createWriteStream());
      result.files += 1;
      result.bytes += h.size ?? 0;
    }
  };
  try {
    await Promise.all([
      pipeline(createReadStream(archive), createGunzip(), extract),
      consume().catch((e: unknown) => {
        extract.destroy();
        throw e;
      }),
    ]);
  } catch (e) {
    if (e instanceof ModelExtractionError) throw e;
    throw new ModelExtractionError(`model.tar.gz (${archive}) cannot be read: ${(e as Error).message}`);
  }
  return result;
}
