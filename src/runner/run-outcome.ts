import type { AppliedLimits } from './resource-limits.js';
import type { RunFailed, RunResult, RunStatusCode, RunSucceeded, StopReason } from './types.js';

/** statusDetails.message is at most this long (contract §6). */
export const FAILURE_MESSAGE_CHARS = 1024;
const GiB = 1024 ** 3;

export interface ExitFacts {
  instanceType: string;
  maxRuntimeInSeconds: number;
  /** The first reason the run was stopped for, and its message (volume). */
  stopReason?: StopReason;
  stopDetail?: string;
  exitCode: number;
  oomKilled: boolean;
  /** The first characters of /opt/ml/output/failure, when the algorithm wrote one. */
  failureText?: string;
  stderrTail: readonly string[];
  limits?: AppliedLimits;
}

/** How a run ended, before the facts around it (times, artifacts) are added. */
export type Outcome = { succeeded: true; statusCode?: undefined; message?: undefined } | { succeeded: false; statusCode: RunStatusCode; message: string };

const firstChars = (text: string) => [...text].slice(0, FAILURE_MESSAGE_CHARS).join('');

/** How a container that ended is reported: a stop reason first, then memory, then the exit code. */
export function classifyExit(f: ExitFacts): Outcome {
  const failed = (statusCode: RunStatusCode, message: string): Outcome => ({ succeeded: false, statusCode, message: firstChars(message) });
  switch (f.stopReason) {
    case 'cancel':
      return failed('CANCELLED', 'The trained model was cancelled; its containers were stopped.');
    case 'deadline':
      return failed(
        'MAX_RUNTIME_EXCEEDED',
        `The training job ran past its stoppingCondition.maxRuntimeInSeconds of ${f.maxRuntimeInSeconds} seconds and was stopped.`,
      );
    case 'volume':
      return failed('ALGORITHM_ERROR', f.stopDetail ?? 'The training job wrote more than resourceConfig.volumeSizeInGB.');
    case undefined:
      break;
  }
  if (f.oomKilled && f.exitCode !== 0) {
    const limit = f.limits ? ` of ${(f.limits.memoryBytes / GiB).toFixed(2)} GiB` : '';
    return failed('OUT_OF_MEMORY', `The algorithm ran out of memory: the engine killed it at the ${f.instanceType} memory limit${limit}.`);
  }
  if (f.exitCode === 0) return { succeeded: true };
  const failure = f.failureText !== undefined ? firstChars(f.failureText).trimEnd() : '';
  if (failure.length > 0) return failed('ALGORITHM_ERROR', failure);
  const tail = f.stderrTail.length > 0 ? ['Last lines of stderr:', ...f.stderrTail] : [];
  return failed('ALGORITHM_ERROR', [`Algorithm exited with code ${f.exitCode}.`, ...tail].join('\n'));
}

/** The facts a result carries besides its outcome; `endedAt` defaults to now. */
export type RunDetails = Pick<RunFacts, 'exitCode' | 'imageDigest' | 'modelArtifactPath' | 'outputArtifactPath' | 'limits' | 'cause'> & {
  endedAt?: Date;
};
type RunFacts = Omit<RunFailed, 'succeeded' | 'statusCode' | 'message'>;

function facts(startedAt: Date, details: RunDetails, stopReason: StopReason | undefined): RunFacts {
  const { endedAt = new Date(), ...rest } = details;
  return {
    ...rest,
    ...(stopReason ? { stopReason } : {}),
    timedOut: stopReason === 'deadline',
    cancelled: stopReason === 'cancel',
    startedAt,
    endedAt,
    durationMs: endedAt.getTime() - startedAt.getTime(),
  };
}

export function runSucceeded(startedAt: Date, details: RunDetails = {}): RunSucceeded {
  return { succeeded: true, ...facts(startedAt, details, undefined) };
}

/** A failed run; a CANCELLED one is always stopped for 'cancel', whatever `stopReason` says. */
export function runFailed(
  startedAt: Date,
  statusCode: RunStatusCode,
  message: string,
  details: RunDetails & { stopReason?: StopReason } = {},
): RunFailed {
  const { stopReason, ...rest } = details;
  return { succeeded: false, statusCode, message, ...facts(startedAt, rest, statusCode === 'CANCELLED' ? 'cancel' : stopReason) };
}

export function runCancelled(startedAt: Date, message: string, details: RunDetails = {}): RunFailed {
  return runFailed(startedAt, 'CANCELLED', message, details);
}

/** The result of containers that ended: their classified outcome, and why the runner stopped them (if it did). */
export function runEnded(startedAt: Date, outcome: Outcome, details: RunDetails & { stopReason?: StopReason }): RunResult {
  if (outcome.succeeded) return runSucceeded(startedAt, details);
  return runFailed(startedAt, outcome.statusCode, outcome.message, details);
}

/**
 * A run whose process died and left nothing to take over (`why`: what is missing). A run that was being
 * cancelled ends CANCELLED, with the same message.
 */
export function runLost(why: string, at: Date, stopReason?: StopReason): RunFailed {
  const message = `The process running this trained model ended unexpectedly and ${why}.`;
  return runFailed(at, stopReason === 'cancel' ? 'CANCELLED' : 'INTERNAL_ERROR', message, { endedAt: at, stopReason });
}
