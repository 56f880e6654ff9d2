import { finalValue, metricNames } from './metric-series.js';
import type { RunReport } from './run-report.js';

/** How a run is named in a report: its name, and its version's first characters. */
export function runLabel(r: Pick<RunReport, 'name' | 'versionIdentifier'>): string {
  return r.versionIdentifier ? `${r.name}@${r.versionIdentifier.slice(0, 8)}` : r.name;
}

/** The hyperparameters whose values are not the same in every run (one missing counts as differing). */
export function differingHyperparameters(runs: readonly RunReport[]): string[] {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.hyperparameters)))].sort();
  return keys.filter((k) => new Set(runs.map((r) => r.hyperparameters[k] ?? '\u0000unset')).size > 1);
}

/** Labels for the runs of a comparison, each different (the trained model's id is added where names repeat). */
export function compareLabels(runs: readonly RunReport[]): string[] {
  const labels = runs.map(runLabel);
  return labels.map((l, i) => (labels.filter((x) => x === l).length > 1 ? `${l} (${runs[i]!.trainedModelArn.split('/').pop()!.slice(0, 8)})` : l));
}


/** Each metric and host any run measured, with every run's final value of it (undefined where a run has none). */
export function finalMetrics(runs: readonly RunReport[]): { label: string; values: (number | undefined)[] }[] {
  const rows: { label: string; values: (number | undefined)[] }[] = [];
  for (const name of metricNames(runs.flatMap((r) => r.metrics))) {
    const hosts = [...new Set(runs.flatMap((r) => r.metrics.filter((s) => s.metric === name).map((s) => s.host)))];
    for (const host of hosts) {
      const values = runs.map((r) => {
        const s = r.metrics.find((m) => m.metric === name && m.host === host);
        return s && finalValue(s);
      });
      rows.push({ label: `${name} · ${host}`, values });
    }
  }
  return rows;
}
