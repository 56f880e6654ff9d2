import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCancelled, runFailed, runSucceeded } from '../../src/runner/run-outcome.js';
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
    const scripted = await this.script(spec, events, signal);
    mkdirSync(spec.artifactsDir, { recursive: true });
    writeFileSync(join(spec.artifactsDir, 'model.tar.gz'), '');
    const { succeeded, statusCode, message, stopReason, exitCode, imageDigest, modelArtifactPath, outputArtifactPath, limits, cause } = scripted;
    const details = {
      imageDigest: imageDigest ?? 'sha256:' + 'a'.repeat(64),
      modelArtifactPath: modelArtifactPath ?? join(spec.artifactsDir, 'model.tar.gz'),
      outputArtifactPath, exitCode, limits, cause,
    };
    // Built as the Docker runner builds them: a run whose signal aborted ends cancelled.
    if (statusCode === 'CANCELLED' || stopReason === 'cancel' || (succeeded !== false && signal.aborted)) {
      return runCancelled(startedAt, message ?? 'The trained model was cancelled; its containers were stopped.', details);
    }
    if (succeeded === false) return runFailed(startedAt, statusCode ?? 'ALGORITHM_ERROR', message ?? 'The scripted run failed.', { ...details, stopReason });
    return runSucceeded(startedAt, details);
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
