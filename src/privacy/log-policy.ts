import type { LogsConfigurationPolicy } from '../api/generated/types.js';
import { isErrorSummaryLine } from './error-summary.js';
import { compileFilterPattern, type LineMatcher } from './filter-pattern.js';
import { compileLogRedaction, type Redactor } from './log-redaction.js';

/**
 * The container logs of a trained model as a member other than the owner sees them, after the association's
 * `privacyConfiguration.policies.trainedModels.containerLogs` **(decided where AWS says nothing)**:
 * - an account named in no policy's `allowedAccountIds` sees no logs at all: logViewFor returns undefined;
 * - a policy admits a line when its `logType` admits it (ALL, the default: every line; ERROR_SUMMARY: see
 *   error-summary.ts) and its `filterPattern` matches the line's original text (filter-pattern.ts);
 * - an admitted line is shown with that policy's redaction (log-redaction.ts);
 * - several policies naming the same account: the account sees the union of the lines they admit; a line
 *   admitted by more than one is rendered by the first of them in list order, so no line ever shows more
 *   than one policy allows for it;
 * - a policy that cannot be compiled (an unsupported or broken filter pattern or custom identifier stored
 *   before validation existed) admits nothing: it fails closed.
 */

export interface PolicyLogLine {
  text: string;
  stream: 'stdout' | 'stderr';
  time?: Date | string;
  host?: string;
}

export interface LogView {
  /** The line as the account receives it, or undefined when its policies filter it out. */
  apply(line: PolicyLogLine): string | undefined;
  /**
   * The run's failure message (statusDetails.message) as the account receives it: it counts as part of the
   * error summary under either logType, so only the filter pattern and redaction apply.
   */
  applyFailureMessage(message: string): string | undefined;
}

interface CompiledPolicy {
  errorSummaryOnly: boolean;
  matches: LineMatcher;
  redact: Redactor;
}

function compilePolicy(policy: LogsConfigurationPolicy): CompiledPolicy | undefined {
  try {
    return {
      errorSummaryOnly: policy.logType === 'ERROR_SUMMARY',
      matches: compileFilterPattern(policy.filterPattern),
      redact: compileLogRedaction(policy.logRedactionConfiguration),
    };
  } catch {
    return undefined;
  }
}

export function logViewFor(policies: readonly LogsConfigurationPolicy[] | undefined, accountId: string): LogView | undefined {
  const mine = (policies ?? []).filter((p) => p.allowedAccountIds.includes(accountId));
  if (mine.length === 0) return undefined;
  const compiled = mine.map(compilePolicy).filter((p): p is CompiledPolicy => p !== undefined);
  const render = (text: string, isSummary: boolean): string | undefined => {
    for (const p of compiled) {
      if (p.errorSummaryOnly && !isSummary) continue;
      if (!p.matches(text)) continue;
      return p.redact(text);
    }
    return undefined;
  };
  return {
    apply: (line) => render(line.text, isErrorSummaryLine(line.text)),
    applyFailureMessage: (message) => render(message, true),
  };
}
