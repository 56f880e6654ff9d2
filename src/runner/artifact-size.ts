import { stat } from 'node:fs/promises';
import { checkArtifactSize } from '../privacy/artifact-policy.js';

const GiB = 1024 ** 3;

/**
 * The association's maxArtifactSize verdict on what a run packaged (model.tar.gz and output.tar.gz together):
 * undefined when within `maxBytes`, otherwise the message the run fails with, worded by the privacy policy.
 */
export async function artifactSizeFailure(paths: readonly (string | undefined)[], maxBytes: number | undefined): Promise<string | undefined> {
  if (maxBytes === undefined) return undefined;
  let bytes = 0;
  for (const p of paths) if (p) bytes += (await stat(p).catch(() => undefined))?.size ?? 0;
  return checkArtifactSize(bytes, { value: gigabytesOf(maxBytes), unit: 'GB' });
}

/**
 * The policy value a byte limit came from (maxArtifactBytes is floor(value × 1024³)): the shortest decimal that
 * gives the same bytes, so the message names the value as the user wrote it (0.01, not 0.0099999997…).
 */
function gigabytesOf(maxBytes: number): number {
  const exact = maxBytes / GiB;
  for (let digits = 1; digits <= 17; digits++) {
    const value = Number(exact.toPrecision(digits));
    if (Math.floor(value * GiB) === maxBytes) return value;
  }
  return exact;
}
