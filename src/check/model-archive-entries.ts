import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { normalizeArchivePath } from './load-check-spec.js';

/** How many of an archive's names a failure message lists, so that a model of a million files stays readable. */
const LISTED = 20;

export interface ArchiveLookup {
  /** The wanted paths the archive holds no entry for. */
  missing: string[];
  /** The archive's first entry names (at most LISTED) and how many it has in all. */
  sample: string[];
  entryCount: number;
}

/**
 * Which of `wanted` (normalised paths) a model.tar.gz holds, read as a stream: entries are skipped, never
 * extracted, and only the wanted names and a short sample are kept, however large the archive.
 */
export async function findArchiveEntries(archivePath: string, wanted: readonly string[]): Promise<ArchiveLookup> {
  const remaining = new Set(wanted);
  const sample: string[] = [];
  let entryCount = 0;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = normalizeArchivePath(header.name);
    entryCount++;
    if (name !== '') {
      remaining.delete(name);
      if (sample.length < LISTED) sample.push(header.type === 'directory' ? `${name}/` : name);
    }
    stream.on('end', next);
    stream.resume();
  });
  await pipeline(createReadStream(archivePath), createGunzip(), extract);
  return { missing: wanted.filter((w) => remaining.has(w)), sample, entryCount };
}
