import { EngineError, type ContainerEngine } from './container-engine.js';

/**
 * statusDetails.message of a run the runner (not the algorithm) failed: which engine, what was asked of it and
 * its own words (an engine that restarted or went away mid-run: "connect ECONNREFUSED …"), or the file that
 * could not be written and why ("no space left on device").
 */
export function runnerFailure(engine: ContainerEngine, e: Error): string {
  if (e instanceof EngineError) {
    const op = e.operation ? ` (${e.operation})` : '';
    return `The container engine at ${engine.endpoint} failed during the run${op}: ${e.message}`;
  }
  return e.message;
}
