import { ArtifactPackagingError } from './artifact-packager.js';
import { EngineError, type ContainerEngine } from './container-engine.js';

/**
 * statusDetails.message of a run the runner (not the algorithm) failed: which engine, what was asked of it and
 * its own words (an engine that restarted or went away mid-run: "connect ECONNREFUSED …"), or the file that
 * could not be written and why ("no space left on device").
 */
export function runnerFailure(engine: Pick<ContainerEngine, 'endpoint'>, e: Error): string {
  // An engine that answered (a 4xx/5xx: a missing entrypoint, a refused mount) ran fine: what it refused is the
  // container's problem. Only an engine that did not answer at all (no status) failed during the run.
  if (e instanceof EngineError && e.statusCode === undefined) {
    const op = e.operation ? ` (${e.operation})` : '';
    return `The container engine at ${engine.endpoint} failed during the run${op}: ${e.message}`;
  }
  // A file that could not be written names itself; anything else is said as the runner's failure to run it.
  if (e instanceof ArtifactPackagingError) return e.message;
  return `cleanrooms-ml-local failed to run the container: ${e.message}`;
}
