import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CleanRoomsMLLocal } from '../../api/service.js';
import { trainedModelArtifacts } from '../../api/artifacts.js';
import { UsageError } from '../errors.js';

/** `crml artifacts <trained model> --to DIR`: copies model.tar.gz, output.tar.gz and manifest.json out. */
export async function copyArtifacts(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { to: string; membershipIdentifier?: string; versionIdentifier?: string },
): Promise<string[]> {
  const files = await trainedModelArtifacts(service, trainedModel, opts);
  if (files.length === 0) throw new UsageError(`Trained model ${trainedModel} has no artifacts (yet, or any more).`);
  const to = resolve(opts.to);
  mkdirSync(to, { recursive: true });
  return files.map((f) => {
    const dest = join(to, basename(f));
    copyFileSync(f, dest);
    return dest;
  });
}
