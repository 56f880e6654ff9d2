import type { CleanRoomsMLLocal } from '../../api/service.js';
import { collectRunReport, type RunReport } from '../../report/run-report.js';
import { comparisonPage } from '../../report/html-sections.js';
import { renderComparison } from '../../report/terminal-report.js';
import type { TerminalStyle } from '../../report/terminal-text.js';
import { UsageError } from '../errors.js';
import { checkHtmlTarget, writeHtmlPage, type Print } from './report.js';

export const COMPARE_EXAMPLE = 'crml compare run-1 run-2 run-3   # a version: run-1@<version identifier>; --html compare.html';

/** `name@<version identifier>` names a version; an ARN or name without one is its latest version. */
const VERSIONED = /^(.+)@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function parseRunArgument(arg: string): { trainedModel: string; versionIdentifier?: string } {
  const m = VERSIONED.exec(arg);
  return m ? { trainedModel: m[1]!, versionIdentifier: m[2]! } : { trainedModel: arg };
}

/** `crml compare <a> <b> … [--html FILE]`: runs side by side, with overlaid metric charts. */
export async function printComparison(
  service: CleanRoomsMLLocal,
  trainedModels: string[],
  opts: { html?: string },
  style: TerminalStyle,
  print: Print,
): Promise<void> {
  if (trainedModels.length < 2) throw new UsageError(`compare needs two trained models or more, got ${trainedModels.length}.`);
  if (opts.html !== undefined) await checkHtmlTarget(opts.html);
  const runs: RunReport[] = [];
  for (const arg of trainedModels) {
    const { trainedModel, versionIdentifier } = parseRunArgument(arg);
    runs.push(await collectRunReport(service, trainedModel, { versionIdentifier, tailLines: false }));
  }
  if (opts.html !== undefined) return writeHtmlPage(opts.html, comparisonPage(runs), print);
  for (const line of renderComparison(runs, style)) await print(line);
}
