import type { AppliedLimits } from './resource-limits.js';
import type { StopReason } from './stop-controller.js';
import type { RunStatusCode } from './types.js';

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

export interface Outcome {
  succeeded: boolean;
  statusCode?: RunStatusCode;
  message?: string;
}

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
