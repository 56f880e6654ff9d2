// A CI check of a training image, with vitest (jest works the same): build it from its folder, train it on its
// data through the same path as Clean Rooms ML's CreateTrainedModel, and assert how it ended and what it learnt.
//   npx vitest run examples/ci/linear-regression.test.ts
// Offline (no Docker Hub): TESTCONTAINERS_RYUK_DISABLED=true; the Dockerfile's base image,
// crml-local/python-numpy:bookworm, comes from `bash scripts/build-images.sh`.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { TrainingContainer } from 'cleanrooms-ml-local/testcontainers';
import { trainingMatchers } from 'cleanrooms-ml-local/testcontainers/vitest';

expect.extend(trainingMatchers);

const algorithm = fileURLToPath(new URL('../algorithms/linear-regression/', import.meta.url));

/** The example algorithm, built from its Dockerfile, on its own data set, with the metrics its README defines. */
function linearRegression(): TrainingContainer {
  return TrainingContainer.fromDockerfile(algorithm)
    .withChannel('train', `${algorithm}/data/train`)
    .withChannel('validation', `${algorithm}/data/validation`)
    .withHyperparameters({ epochs: 20, learning_rate: 0.05 })
    .withMetric('train:loss', 'train_loss=([0-9.eE+-]+)')
    .withMetric('validation:loss', 'validation_loss=([0-9.eE+-]+)')
    .withMaxRuntime(300);
}

it('trains the linear regression to a low validation loss', async () => {
  await using result = await linearRegression().run();

  expect(result).toBeActive();
  expect(result).toHaveFinalMetric('validation:loss', { below: 0.05 });
  expect(result).toHaveModelFile('model.json');
  expect(result).toHaveLogLine(/^epoch=20 /);
});
