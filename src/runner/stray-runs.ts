import { LABEL_TRAINED_MODEL, LABEL_VERSION } from './container-config.js';
import type { RunKey } from './types.js';

/**
 * Which containers belong to which store, and which of them no run needs any more: the labels stay on the
 * runner's side, the API side says only which runs (trained model and version) it keeps.
 */

const LABEL_STORE = 'crml.store';

/** The labels a run of store `storeId` carries (TrainingJobSpec.labels), so a later process can find its containers. */
export function storeLabels(storeId: string): Record<string, string> {
  return { [LABEL_STORE]: storeId };
}

/** The engine filter for every container of store `storeId`. */
export function storeSelector(storeId: string): string {
  return `${LABEL_STORE}=${storeId}`;
}

/** Whether a container of the store, by its labels, is stray: it names no run, or a run `keep` does not keep. */
export function isStray(labels: Record<string, string>, keep: (run: RunKey) => boolean): boolean {
  const trainedModelArn = labels[LABEL_TRAINED_MODEL];
  return !trainedModelArn || !keep({ trainedModelArn, versionIdentifier: labels[LABEL_VERSION] ?? '' });
}
