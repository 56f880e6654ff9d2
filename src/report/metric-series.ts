import type { TrainedModelMetricPoint } from '../api/operations/trained-model-observability.js';

/** One metric of one host of a run, in time order: `times` in milliseconds since the epoch. */
export interface MetricSeries {
  metric: string;
  host: string;
  times: number[];
  values: number[];
}

/** The points of a run as one series per metric and host, metrics by name, hosts algo-1, algo-2, … in order. */
export function metricSeries(points: readonly TrainedModelMetricPoint[]): MetricSeries[] {
  const byKey = new Map<string, MetricSeries>();
  // A stable sort: points the same millisecond keep the order the run reported them in.
  const sorted = [...points].sort((a, b) => a.time.getTime() - b.time.getTime());
  for (const p of sorted) {
    // NaN or ±Infinity (a regex that matched `nan`, `inf`) cannot be drawn; the other points can.
    if (!Number.isFinite(p.value)) continue;
    const key = `${p.name}\u0000${p.host}`;
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { metric: p.name, host: p.host, times: [], values: [] }));
    s.times.push(p.time.getTime());
    s.values.push(p.value);
  }
  const collator = new Intl.Collator('en', { numeric: true });
  return [...byKey.values()].sort((a, b) => collator.compare(a.metric, b.metric) || collator.compare(a.host, b.host));
}

/** The metric names of several series, each once, in order. */
export function metricNames(series: readonly MetricSeries[]): string[] {
  return [...new Set(series.map((s) => s.metric))];
}

/** The last value of each series: the run's final metrics. */
export function finalValue(s: MetricSeries): number | undefined {
  return s.values[s.values.length - 1];
}

/**
 * At most `width` values of a series for a terminal chart of that many columns: each column the mean of the
 * points that fall in it, so a long run keeps its shape.
 */
export function resample(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const out: number[] = [];
  for (let col = 0; col < width; col++) {
    const from = Math.floor((col * values.length) / width);
    const to = Math.max(from + 1, Math.floor(((col + 1) * values.length) / width));
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i]!;
    out.push(sum / (to - from));
  }
  return out;
}
