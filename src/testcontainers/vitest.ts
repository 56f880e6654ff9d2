/// <reference types="vitest" preserve="true" />
// (The augmentation needs vitest in the program, also in the emitted .d.ts; nothing at run time.)
/**
 * `cleanrooms-ml-local/testcontainers/vitest`: the training matchers, typed for vitest's `expect` (module
 * augmentation of its `Assertion`). Apart from `./matchers.ts` so that jest users need no vitest installed.
 *   import { trainingMatchers } from 'cleanrooms-ml-local/testcontainers/vitest';
 *   expect.extend(trainingMatchers);
 */
import type { TrainingMatchers } from './matchers.js';

export { trainingMatchers, type MetricBound, type TrainingMatchers } from './matchers.js';

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars
  interface Assertion<T = any> extends TrainingMatchers<void> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AsymmetricMatchersContaining extends TrainingMatchers {}
}

