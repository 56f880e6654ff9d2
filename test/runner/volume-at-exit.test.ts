import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import { defaultSettings } from '../../src/settings.js';
import { probeJobSpec } from '../helpers/job-spec.js';

/** Not crml.test=1: the runner tests' afterEach removes every container with that label, also of a test running beside them. */
const TEST_LABELS = { 'crml.test.runner-safety': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcd52';
const work = mkdtempSync(join(tmpdir(), 'crml-volume-exit-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('volumeSizeInGB is checked once the containers exit, not only while they run', () => {
  it('a job that writes 1.3 GB into a 1 GB volume and exits at once fails with the live check\'s words', async () => {
    // No live check during the run: only the check at the end can catch it.
    const runner = new DockerTrainingRunner({
      engine,
      logger: pino({ level: 'silent' }),
      settings: defaultSettings({ dataDir: work, volumeCheckIntervalMs: 3_600_000 }),
    });
    const spec = probeJobSpec({ trainedModelArn: ARN, name: 'volume-exit-test', hyperparameters: { fill_mb: '1300' }, artifactsDir: work, labels: TEST_LABELS });
    const result = await runner.run(spec, { onStarted: () => undefined, onLogLine: () => undefined, onMetric: () => undefined }, new AbortController().signal);
    expect(result.statusCode).toBe('ALGORITHM_ERROR');
    expect(result.message).toMatch(/^The job wrote 1\.\d\d GB to its volume, more than resourceConfig\.volumeSizeInGB \(1 GB\)\.$/);
    expect(result.exitCode).toBe(0);
    // What it wrote is still packaged, as for a run the live check stopped.
    expect(existsSync(join(work, 'model.tar.gz'))).toBe(true);
  }, 240_000);
});
