import type { CaseResult } from './run-check.js';

const LABEL = { passed: 'PASS', failed: 'FAIL', error: 'ERROR' } as const;

/** One line per text: a reason or message spanning lines is joined, so that the table stays a table. */
const oneLine = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' / ');

/**
 * The check's outcome as lines to print: a row per case (result, case, status, time, first reason), its further
 * reasons on lines of their own under it, the warnings (each once, with the cases it concerns), and a summary.
 */
export function checkTable(results: readonly CaseResult[]): string[] {
  const manySuites = new Set(results.map((r) => r.suite)).size > 1;
  const rows = results.map((r) => ({
    cells: [
      LABEL[r.outcome],
      manySuites ? `${r.suite.name}: ${r.case.name}` : r.case.name,
      [r.status, r.statusCode].filter(Boolean).join(' ') || '-',
      `${r.elapsedSeconds.toFixed(1)}s`,
    ],
    reasons: r.reasons.map(oneLine),
  }));
  const header = ['RESULT', 'CASE', 'STATUS', 'TIME'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const indent = widths.reduce((n, w) => n + w + 2, 0);
  const row = (cells: string[], reason = '') => [...cells.map((c, i) => c.padEnd(widths[i]!)), reason].join('  ').trimEnd();
  const lines = [row(header, 'REASON')];
  for (const r of rows) {
    lines.push(row(r.cells, r.reasons[0]));
    for (const more of r.reasons.slice(1)) lines.push(`${' '.repeat(indent)}${more}`);
  }

  const warned = new Map<string, string[]>();
  for (const r of results) for (const w of r.warnings) warned.set(w, [...(warned.get(w) ?? []), r.case.name]);
  if (warned.size > 0) {
    lines.push('', 'Warnings (a run that passes here would not pass on AWS Clean Rooms ML):');
    for (const [w, cases] of warned) lines.push(`  warning: ${oneLine(w)} (${cases.length === results.length && results.length > 1 ? 'every case' : cases.join(', ')})`);
  }

  const count = (o: CaseResult['outcome']) => results.filter((r) => r.outcome === o).length;
  const errors = count('error');
  lines.push(
    '',
    `${results.length} case${results.length === 1 ? '' : 's'}: ${count('passed')} passed, ${count('failed')} failed, ${errors} could not run${warned.size > 0 ? `; ${warned.size} warning${warned.size === 1 ? '' : 's'}` : ''}`,
  );
  return lines;
}
