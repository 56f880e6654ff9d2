import type { CleanRoomsMLLocal } from '../api/service.js';
import { train } from '../api/train.js';
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

/** Starts a case's run through the one-call training: the product's own path, with the API's validation. */
export async function trainCase(service: CleanRoomsMLLocal, training: CaseTraining, caseName: string): Promise<{ trainedModelArn: string; imageUri: string }> {
  if (training.build || !training.imageUri) throw new Error('building an image is not available yet');
  const channels: Record<string, string> = {};
  for (const [name, ch] of Object.entries(training.channels)) {
    if (typeof ch !== 'string') throw new Error(`channel ${name}: only folders are available yet`);
    channels[name] = ch;
  }
  const { trainedModelArn } = await train(service, {
    imageUri: training.imageUri,
    channels,
    name: trainedModelName(caseName),
    hyperparameters: training.hyperparameters,
    environment: training.environment,
    instanceType: training.instanceType,
    instanceCount: training.instanceCount,
    inputMode: training.inputMode,
    maxRuntimeInSeconds: training.maxRuntimeInSeconds,
    metricDefinitions: training.metricDefinitions,
  });
  return { trainedModelArn, imageUri: training.imageUri };
}
