import { finalValue, metricNames } from './metric-series.js';
import type { RunReport } from './run-report.js';
import { compareLabels, differingHyperparameters, finalMetrics, runLabel } from './comparison.js';
import { formatBytes, formatDuration, formatNumber } from './format.js';
import { bold, colored, cut, facts, lineChart, printable, seriesColor, type TerminalStyle } from './terminal-text.js';

/** Log lines a terminal report shows (the HTML page shows the whole excerpt). */
const LOG_LINES = 10;

function statusLine(r: RunReport): string {
  return [r.status, r.statusCode].filter(Boolean).join(' · ');
}

function instancesLine(r: RunReport): string | undefined {
  if (!r.instanceType) return undefined;
  const parts = [`${r.instanceType} × ${r.instanceCount}`];
  if (r.volumeSizeInGB !== undefined) parts.push(`volume ${r.volumeSizeInGB} GB`);
  if (r.maxRuntimeInSeconds !== undefined) parts.push(`max runtime ${r.maxRuntimeInSeconds} s`);
  if (r.trainingInputMode) parts.push(`input mode ${r.trainingInputMode}`);
  return parts.join(', ');
}

function limitsLines(r: RunReport): string[] | undefined {
  const l = r.limits;
  if (!l) return undefined;
  const lines = [`${l.vcpus} vCPUs, ${formatBytes(l.memoryBytes)} memory, ${l.gpus} GPUs, /dev/shm ${formatBytes(l.shmSizeBytes)}`];
  if (l.scaledDown) lines.push(`scaled down: ${l.scaledDown}`);
  return lines;
}

function timelineLines(r: RunReport): string[] {
  const start = Date.parse(r.timeline[0]?.time ?? r.createTime);
  return r.timeline.map((t, i) => `${t.time}  ${t.status}${i > 0 ? `  (+${formatDuration(Date.parse(t.time) - start)})` : ''}`);
}

/** `crml report <trained model>` in a terminal: the run's facts, a chart per metric and host, and its last lines. */
export function renderRunReport(r: RunReport, style: TerminalStyle): string[] {
  const out = [bold(style, `Trained model ${printable(runLabel(r))}`), ''];
  out.push(
    ...facts(style, [
      ['ARN', r.trainedModelArn],
      ['Version', r.versionIdentifier],
      ['Status', statusLine(r)],
      ['Message', r.statusMessage?.split('\n')],
      ['Timeline', timelineLines(r)],
      ['Duration', formatDuration(r.durationMs)],
      ['Instances', instancesLine(r)],
      ['Limits applied', limitsLines(r)],
      ['Exit code', r.exitCode === undefined ? undefined : String(r.exitCode)],
      ['Hyperparameters', Object.entries(r.hyperparameters).map(([k, v]) => `${k}=${v}`)],
      ['Environment', r.environmentNames.length ? `${r.environmentNames.join(', ')} (names only)` : undefined],
      ['Channels', r.channels.map((c) => `${c.channelName}  ${c.sha256 ? `sha256:${c.sha256}` : '(no hash recorded)'}`)],
      ['Image', r.image.uri],
      ['Image digest', r.image.digest],
      ['Artifacts', r.artifacts],
    ]),
  );
  out.push('', bold(style, 'Metrics'));
  if (r.metrics.length === 0) out.push('  (no metric data points)');
  for (const s of r.metrics) {
    // A loop, not Math.min(...values): a long run's points would overflow the call stack.
    const min = s.values.reduce((a, b) => Math.min(a, b));
    const max = s.values.reduce((a, b) => Math.max(a, b));
    out.push('', `${bold(style, printable(s.metric))} · ${printable(s.host)} · ${s.values.length} points · last ${formatNumber(finalValue(s)!)} (min ${formatNumber(min)}, max ${formatNumber(max)})`);
    out.push(...lineChart(style, [s.values]));
  }
  if (r.log) {
    const failed = r.log.stderrNearFailure.length > 0;
    const lines = (failed ? r.log.stderrNearFailure : r.log.tail).slice(-LOG_LINES);
    out.push('', bold(style, failed ? `Log: stderr before the failure (last ${lines.length})` : `Log: last ${lines.length} of ${r.log.totalLines} lines`));
    for (const l of lines) out.push(`  ${l.host} ${l.stream} ${printable(l.text)}`);
  }
  return out;
}

const COLUMN = 28;

/** `crml compare <a> <b> …` in a terminal: the runs side by side, then one overlaid chart per metric. */
export function renderComparison(runs: readonly RunReport[], style: TerminalStyle): string[] {
  const labels = compareLabels(runs);
  const rows: [string, string[]][] = [
    ['Status', runs.map((r) => r.status)],
    ['Status code', runs.map((r) => r.statusCode ?? '-')],
    ['Duration', runs.map((r) => formatDuration(r.durationMs) ?? '-')],
    ['Instances', runs.map((r) => (r.instanceType ? `${r.instanceType} × ${r.instanceCount}` : '-'))],
    ['Image digest', runs.map((r) => r.image.digest ?? '-')],
  ];
  const differing = differingHyperparameters(runs);
  const hpRows: [string, string[]][] = differing.map((k) => [`  ${k}`, runs.map((r) => r.hyperparameters[k] ?? '(not set)')]);
  const names = metricNames(runs.flatMap((r) => r.metrics));
  const metricRows: [string, string[]][] = finalMetrics(runs).map(({ label, values }) => [`  ${label}`, values.map((v) => (v === undefined ? '-' : formatNumber(v)))]);
  const labelWidth = Math.max(16, ...[...rows, ...hpRows, ...metricRows].map(([k]) => k.length)) + 2;
  const line = (k: string, cells: string[], strong = false) =>
    `${strong ? bold(style, k.padEnd(labelWidth)) : k.padEnd(labelWidth)}${cells.map((c) => printable(cut(c, COLUMN - 2)).padEnd(COLUMN)).join('').trimEnd()}`;

  const out = [bold(style, `Comparing ${runs.length} trained models`), ''];
  out.push(line('', labels, true));
  for (const [k, cells] of rows) out.push(line(k, cells, true));
  out.push(bold(style, differing.length ? 'Hyperparameters that differ' : 'Hyperparameters: the same in every run'));
  for (const [k, cells] of hpRows) out.push(line(k, cells));
  out.push(bold(style, names.length ? 'Final metrics' : 'Final metrics: none'));
  for (const [k, cells] of metricRows) out.push(line(k, cells));

  for (const name of names) {
    const series = runs.flatMap((r, i) => r.metrics.filter((s) => s.metric === name).map((s) => ({ label: `${labels[i]} · ${s.host}`, s })));
    out.push('', `${bold(style, printable(name))} (by point number; one series per run and host)`);
    series.forEach(({ label, s }, i) =>
      out.push(`  ${colored(style, '━━', seriesColor(i))} ${style.color ? '' : `${i + 1}. `}${printable(label)}: ${s.values.length} points, last ${formatNumber(finalValue(s)!)}`),
    );
    out.push(...lineChart(style, series.map(({ s }) => s.values)));
  }
  return out;
}
