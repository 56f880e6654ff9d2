import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvents, RunResult, TrainingJobSpec, TrainingRunner } from '../../src/runner/types.js';

/**
 * A runner for tests of the API side only (validation, statuses, pagination): it plays back a scripted
 * outcome without an engine. Every test of real behaviour uses the Docker runner.
 */
export class ScriptedRunner implements TrainingRunner {
  readonly specs: TrainingJobSpec[] = [];

  constructor(
    private readonly script: (spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal) => Promise<Partial<RunResult>> = async () => ({}),
  ) {}

  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    this.specs.push(spec);
    const startedAt = new Date();
    await events.onStarted({ imageDigest: 'sha256:' + 'a'.repeat(64), containerIds: [] });
    const partial = await this.script(spec, events, signal);
    mkdirSync(spec.artifactsDir, { recursive: true });
    writeFileSync(join(spec.artifactsDir, 'model.tar.gz'), '');
    const endedAt = new Date();
    return {
      succeeded: true,
      timedOut: false,
      cancelled: signal.aborted,
      startedAt,
      endedAt,
      durationMs: endedAt.getTime() - startedAt.getTime(),
      imageDigest: 'sha256:' + 'a'.repeat(64),
      modelArtifactPath: join(spec.artifactsDir, 'model.tar.gz'),
      ...partial,
    };
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
