import { constants, createReadStream, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CleanRoomsMLLocal } from '../../api/service.js';
import { trainedModelArtifacts } from '../../api/artifacts.js';
import { UsageError } from '../errors.js';

/** A new file only: never one that exists, and never through a link (someone may have planted one in DIR). */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * `crml artifacts <trained model> --to DIR`: copies model.tar.gz, output.tar.gz and manifest.json out (for an
 * inference job, its output.tar.gz).
 * DIR itself is resolved once (a link to a folder is the user's own choice, decided); the files in it are never
 * followed: each is written to a new temporary file in DIR and renamed over its name, which replaces a link
 * named model.tar.gz rather than writing to where it points.
 */
export async function copyArtifacts(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { to: string; membershipIdentifier?: string; versionIdentifier?: string },
): Promise<string[]> {
  const files = await trainedModelArtifacts(service, trainedModel, opts);
  if (files.length === 0) throw new UsageError(`${trainedModel} has no artifacts (yet, or any more).`);
  const to = resolve(opts.to);
  mkdirSync(to, { recursive: true });
  const dir = realpathSync(to);
  const copied: string[] = [];
  for (const f of files) {
    const temp = join(dir, `.${basename(f)}.${randomUUID()}.partial`);
    try {
      const out = await open(temp, NEW_FILE, 0o644);
      await pipeline(createReadStream(f), out.createWriteStream());
      renameSync(temp, join(dir, basename(f)));
    } catch (e) {
      rmSync(temp, { force: true });
      throw e;
    }
    copied.push(join(to, basename(f)));
  }
  return copied;
}
