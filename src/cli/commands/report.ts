import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CleanRoomsMLLocal } from '../../api/service.js';
import { collectRunReport } from '../../report/run-report.js';
import { runReportPage, type PageModel } from '../../report/html-sections.js';
import { htmlPage } from '../../report/html-page.js';
import { renderRunReport } from '../../report/terminal-report.js';
import type { TerminalStyle } from '../../report/terminal-text.js';
import { writeFileAtomically } from '../../report/write-file-atomically.js';
import { UsageError } from '../errors.js';

/** Resolves when the output can take more. */
export type Print = (s: string) => Promise<void> | undefined;

export const REPORT_EXAMPLE = 'crml report my-model            # or: crml report my-model --html report.html';

/** A file `--html` may write: its folder exists, and it is not itself a folder. */
export async function checkHtmlTarget(file: string): Promise<void> {
  const target = resolve(file);
  const folder = await stat(dirname(target)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new UsageError(`--html ${file}: the folder ${dirname(target)} does not exist.`);
  if ((await stat(target).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(`--html ${file}: that is a folder; give the name of the HTML file to write, such as report.html.`);
  }
}

/** Writes a page, then prints its path. */
export async function writeHtmlPage(file: string, page: PageModel, print: Print): Promise<void> {
  await print(await writeFileAtomically(file, htmlPage(page)));
}

/**
 * `crml report <trained model> [--version-identifier ID] [--html FILE]`: the run's facts and a chart per metric
 * and host in the terminal, or one self-contained HTML page.
 */
export async function printReport(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { versionIdentifier?: string; html?: string },
  style: TerminalStyle,
  print: Print,
): Promise<void> {
  if (opts.html !== undefined) await checkHtmlTarget(opts.html);
  const report = await collectRunReport(service, trainedModel, { versionIdentifier: opts.versionIdentifier });
  if (opts.html !== undefined) return writeHtmlPage(opts.html, runReportPage(report), print);
  for (const line of renderRunReport(report, style)) await print(line);
}
