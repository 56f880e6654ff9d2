/**
 * The benchmark's one table: each row a measure beside its baseline, taken side by side in the same run, with
 * min/median/max of both, the ratio of the medians and the goal it is held to. Pure functions (tested in
 * test/bench/table.test.ts); the measuring is in bench/cases.ts.
 */

export interface Stats {
  min: number;
  median: number;
  max: number;
  n: number;
}

/** A goal on the ratio ours/baseline: at most (times: lower is better) or at least (throughput: higher is better). */
export type Goal = { atMost: number } | { atLeast: number } | { below: number; unit: string };

export interface Row {
  measure: string;
  baseline: string;
  /** What `ours` and `base` are measured in (ms, req/s, MB/s, MB). */
  unit: string;
  ours: Stats;
  base?: Stats;
  goal: Goal;
  /** Further conditions of the goal that held or not (0 lost, p99, statuses), each with its own verdict. */
  checks?: { name: string; ok: boolean }[];
  /** Set when the row could not be measured here (then it is neither met nor missed). */
  skipped?: string;
}

export function stats(xs: readonly number[]): Stats {
  if (xs.length === 0) throw new Error('no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]!, n: s.length };
}

/** ours/baseline on the medians; for an absolute goal (RSS), ours' largest sample. */
export function ratio(row: Row): number {
  if ('below' in row.goal) return row.ours.max;
  if (!row.base) throw new Error(`${row.measure}: no baseline`);
  return row.ours.median / row.base.median;
}

export function goalMet(row: Row): boolean {
  if (row.skipped) return true;
  const r = ratio(row);
  const g = row.goal;
  const met = 'atMost' in g ? r <= g.atMost : 'atLeast' in g ? r >= g.atLeast : r < g.below;
  return met && (row.checks ?? []).every((c) => c.ok);
}

function goalText(g: Goal): string {
  if ('atMost' in g) return `≤ ${g.atMost}x`;
  if ('atLeast' in g) return `≥ ${g.atLeast}x`;
  return `< ${g.below} ${g.unit}`;
}

const num = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const triple = (s: Stats) => `${num(s.min)} / ${num(s.median)} / ${num(s.max)}`;

/** A Markdown table (it reads in a terminal and pastes into the README as it is). */
export function renderTable(rows: readonly Row[]): string {
  const header = ['measure', 'ours min / median / max', 'baseline', 'baseline min / median / max', 'ratio', 'goal', 'met'];
  const lines = rows.map((r) => {
    if (r.skipped) return [r.measure, '—', r.baseline, '—', '—', goalText(r.goal), `skipped: ${r.skipped}`];
    const checks = (r.checks ?? []).map((c) => `${c.ok ? '' : 'NOT '}${c.name}`).join(', ');
    const value = 'below' in r.goal ? `${num(ratio(r))} ${r.goal.unit}` : `${ratio(r).toFixed(2)}x`;
    return [
      r.measure,
      `${triple(r.ours)} ${r.unit}`,
      r.baseline,
      r.base ? `${triple(r.base)} ${r.unit}` : '—',
      value,
      goalText(r.goal),
      `${goalMet(r) ? 'yes' : 'NO'}${checks ? ` (${checks})` : ''}`,
    ];
  });
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => l[i]!.length)));
  const fmt = (l: string[]) => `| ${l.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}
