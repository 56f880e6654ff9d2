import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect as vitestExpect } from 'vitest';
// jest's own expect (the package jest re-exports): the matchers must work under it as under vitest.
import { expect as jestExpect } from 'expect';
import { trainingMatchers, type TrainingMatchers } from '../../src/testcontainers/matchers.js';
import { TrainingResult } from '../../src/testcontainers/training-result.js';

jestExpect.extend(trainingMatchers);
// The jest typing of the matchers is jest.Matchers; here the calls go through a loose view of jest's expect.
type Asserting = TrainingMatchers<void>;
const expect = jestExpect as unknown as (actual: unknown) => Asserting & { not: Asserting };

function result(over: Partial<ConstructorParameters<typeof TrainingResult>[0]> = {}): TrainingResult {
  const dir = mkdtempSync(join(tmpdir(), 'crml-jest-matchers-'));
  mkdirSync(join(dir, 'model'));
  writeFileSync(join(dir, 'model', 'weights.json'), '{}');
  const t0 = new Date('2026-12-01T00:00:00Z');
  return new TrainingResult({
    trainedModelArn: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/m/trained-model/t',
    status: 'ACTIVE',
    imageUri: 'my-algo:dev',
    metrics: { loss: { points: [{ value: 0.5, time: t0, host: 'algo-1' }, { value: 0.08, time: t0, host: 'algo-1' }], final: { 'algo-1': 0.08 } } },
    logs: [{ time: t0, stream: 'stdout', host: 'algo-1', text: 'epoch=3 loss=0.08' }],
    modelDir: join(dir, 'model'),
    skippedEntries: [],
    dir,
    ...over,
  });
}

describe("the matchers under jest's expect", () => {
  it('pass and fail as under vitest, and a failure names the metric, its value, the bound and the run', () => {
    const ok = result();
    expect(ok).toBeActive();
    expect(ok).toHaveFinalMetric('loss', { below: 0.1 });
    expect(ok).not.toHaveFinalMetric('loss', { above: 0.1 });
    expect(ok).toHaveModelFile('weights.json');
    expect(ok).toHaveLogLine(/loss=0\.0\d/);
    vitestExpect(() => expect(ok).toHaveFinalMetric('loss', { below: 0.01 })).toThrow(/final loss below 0\.01, but loss was 0\.08[\s\S]*ACTIVE[\s\S]*epoch=3 loss=0\.08/);

    const failed = result({ status: 'CREATE_FAILED', statusCode: 'ALGORITHM_ERROR', message: 'boom: bad input', exitCode: 1 });
    expect(failed).toHaveFailedWith('ALGORITHM_ERROR');
    expect(failed).toHaveFailedWith(/bad input/);
    vitestExpect(() => expect(failed).toBeActive()).toThrow(/CREATE_FAILED[\s\S]*ALGORITHM_ERROR[\s\S]*boom: bad input/);
  });
});
