import type { MetricSeries } from './metric-series.js';

/** Series colours of the HTML charts, in order (a test looks for them in the drawn pixels). */
export const CHART_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#bcbd22', '#7f7f7f'];

/**
 * One uPlot chart as the page draws it: uPlot wants one x array shared by every series, so each series has a
 * value (or null, a gap it spans) for every x. `points` is how many data points each series really has.
 */
export interface ChartData {
  title: string;
  xLabel: string;
  series: { label: string; color: string; points: number }[];
  x: number[];
  ys: (number | null)[][];
}

export interface ChartSeriesInput {
  label: string;
  series: MetricSeries;
  /** The time x = 0 stands for (the run's start), in milliseconds since the epoch. */
  origin: number;
}

/** Two points of one series in the same millisecond are drawn a microsecond apart, so that neither is lost. */
const NUDGE_SECONDS = 1e-6;

/** A chart of several series over seconds since each one's origin (several runs overlaid start at 0 together). */
export function chartData(title: string, inputs: readonly ChartSeriesInput[]): ChartData {
  const xsOf = inputs.map(({ series, origin }) => {
    const xs: number[] = [];
    for (const t of series.times) {
      const x = (t - origin) / 1000;
      const prev = xs[xs.length - 1];
      xs.push(prev !== undefined && x <= prev ? prev + NUDGE_SECONDS : x);
    }
    return xs;
  });
  const x = [...new Set(xsOf.flat())].sort((a, b) => a - b);
  const row = new Map(x.map((v, i) => [v, i]));
  const ys = inputs.map(({ series }, i) => {
    const y: (number | null)[] = new Array<number | null>(x.length).fill(null);
    xsOf[i]!.forEach((xv, j) => (y[row.get(xv)!] = series.values[j]!));
    return y;
  });
  return {
    title,
    xLabel: 'seconds since the run started',
    series: inputs.map(({ label, series }, i) => ({ label, color: CHART_COLORS[i % CHART_COLORS.length]!, points: series.values.length })),
    x,
    ys,
  };
}
