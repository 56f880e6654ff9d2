import * as asciichart from 'asciichart';
import { resample } from './metric-series.js';
import { formatNumber } from './format.js';

/** How the terminal output looks: colour only on a terminal, charts as wide as it is. */
export interface TerminalStyle {
  color: boolean;
  width: number;
}

/** Series colours, in order (asciichart's ANSI sequences). */
const SERIES_COLORS = [asciichart.blue, asciichart.green, asciichart.magenta, asciichart.cyan, asciichart.yellow, asciichart.red, asciichart.lightblue, asciichart.lightgreen];

export const seriesColor = (i: number) => SERIES_COLORS[i % SERIES_COLORS.length]!;

export function bold(style: TerminalStyle, s: string): string {
  return style.color ? `\u001b[1m${s}\u001b[22m` : s;
}

export function colored(style: TerminalStyle, s: string, color: string): string {
  return style.color ? `${color}${s}${asciichart.reset}` : s;
}

/**
 * Text a container or a caller wrote, made safe to print: control characters (an escape sequence could move the
 * cursor, rewrite the screen or set the terminal's title) become U+FFFD. Tabs stay.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd');
}

/** A value cut to `max` characters. */
export function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, Math.max(1, max - 1))}…` : s;
}

/** `label  value` lines, labels padded to one width; a value of several lines continues under itself. */
export function facts(style: TerminalStyle, rows: [string, string | string[] | undefined][]): string[] {
  const shown = rows.filter(([, v]) => v !== undefined && (!Array.isArray(v) || v.length > 0)) as [string, string | string[]][];
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  const out: string[] = [];
  for (const [k, v] of shown) {
    const lines = Array.isArray(v) ? v : [v];
    lines.forEach((line, i) => out.push(`  ${i === 0 ? bold(style, k.padEnd(width)) : ' '.repeat(width)}${printable(line)}`));
  }
  return out;
}

const LABEL_WIDTH = 11;

/**
 * An asciichart line chart of one or more series (plotted by point number), as wide as the terminal allows:
 * a long series is resampled to one column per mean of its points.
 */
export function lineChart(style: TerminalStyle, series: readonly (readonly number[])[], height = 8): string[] {
  const columns = Math.max(10, style.width - LABEL_WIDTH - 4);
  const data = series.filter((s) => s.length > 0).map((s) => resample(s, columns));
  if (data.length === 0) return [];
  const chart = asciichart.plot(data.length === 1 ? data[0]! : data, {
    height,
    format: (x) => formatNumber(Number(x.toPrecision(4))).padStart(LABEL_WIDTH),
    ...(style.color ? { colors: data.map((_, i) => seriesColor(i)) } : {}),
  });
  return chart.split('\n');
}

