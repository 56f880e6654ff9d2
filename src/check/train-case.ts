import type { CleanRoomsMLLocal } from '../api/service.js';
import type { CaseTraining } from './check-case.js';

/** The API's limit on a trained model's name. */
const NAME_LENGTH = 63;

/** A trained model's name from a case's (`lr[learning_rate=0.1]` → `check-lr-learning_rate-0.1`). */
export function trainedModelName(caseName: string): string {
  const slug = caseName
    .split(/[^A-Za-z0-9._-]/)
    .filter((part) => part !== '')
    .join('-');
  return `check-${slug}`.slice(0, NAME_LENGTH);
}

/**
 * Starts a case's run through the one-call training (CleanRoomsMLLocal.train): the product's own path, with
 * the API's validation, building the image first when the case names a folder.
 */
export async function trainCase(
  service: CleanRoomsMLLocal,
  training: CaseTraining,
  caseName: string,
  opts: { labels?: Record<string, string>; onBuildLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<{ trainedModelArn: string; imageUri: string }> {
  const { onBuildLine, labels, signal } = opts;
  const { trainedModelArn, imageUri } = await service.train({
    ...training,
    name: trainedModelName(caseName),
    labels,
    signal,
    onProgress: onBuildLine && ((p) => p.kind === 'build' && onBuildLine(p.line)),
  });
  return { trainedModelArn, imageUri };
}
