import { describe, expect, it } from 'vitest';
import { scriptSafeJson } from '../../src/report/html-page.js';
import { chartData } from '../../src/report/chart-data.js';
import { logExcerpt } from '../../src/report/log-excerpt.js';
import { metricSeries, resample } from '../../src/report/metric-series.js';
import { printable } from '../../src/report/terminal-text.js';
import type { TrainedModelLogLine } from '../../src/api/operations/trained-model-observability.js';

describe('the parts of a report', () => {
  it('inlines JSON that no string can break out of, and that parses back to the same value', () => {
    const value = { text: '</script><!-- & \u2028\u2029 <SCRIPT> "quoted" \\ \ud83d\ude00', lone: '\ud800' };
    const json = scriptSafeJson(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('keeps every point of a series, two in the same millisecond included, and aligns hosts on one x axis', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const series = metricSeries([
      { name: 'loss', host: 'algo-1', value: 3, time: new Date(t0 + 1000) },
      { name: 'loss', host: 'algo-1', value: 2, time: new Date(t0 + 1000) },
      { name: 'loss', host: 'algo-2', value: 5, time: new Date(t0 + 1000) },
      { name: 'loss', host: 'algo-1', value: 1, time: new Date(t0 + 2000) },
      { name: 'loss', host: 'algo-10', value: 7, time: new Date(t0) },
      { name: 'loss', host: 'algo-1', value: Number.NaN, time: new Date(t0 + 3000) },
    ]);
    expect(series.map((s) => [s.host, s.values])).toEqual([['algo-1', [3, 2, 1]], ['algo-2', [5]], ['algo-10', [7]]]);
    const chart = chartData('loss', series.map((s) => ({ label: s.host, series: s, origin: t0 })));
    expect(chart.series.map((s) => [s.label, s.points])).toEqual([['algo-1', 3], ['algo-2', 1], ['algo-10', 1]]);
    expect(chart.x).toEqual([0, 1, 1 + 1e-6, 2]);
    expect(chart.ys).toEqual([[null, 3, 2, 1], [null, 5, null, null], [7, null, null, null]]);
  });

  it('resamples a long series to the columns of a terminal by the mean of each column', () => {
    expect(resample([1, 2, 3], 10)).toEqual([1, 2, 3]);
    expect(resample([1, 3, 5, 7, 9, 11], 3)).toEqual([2, 6, 10]);
    expect(resample(Array.from({ length: 1000 }, (_, i) => i), 70)).toHaveLength(70);
  });

  it('makes control characters printable, so a log line cannot drive the terminal', () => {
    expect(printable('a\u001b[2Jb\u0007c\td\u009be\rf')).toBe('a\ufffd[2Jb\ufffdc\td\ufffde\ufffdf');
  });

  it('keeps only the tail and the last stderr lines of a long log, and cuts a huge line', async () => {
    async function* lines(): AsyncGenerator<TrainedModelLogLine> {
      for (let i = 1; i <= 100_000; i++) yield { time: new Date(0), host: 'algo-1', stream: i % 10 === 0 ? 'stderr' : 'stdout', text: `line ${i}` };
      yield { time: new Date(0), host: 'algo-1', stream: 'stdout', text: 'x'.repeat(1_000_000) };
    }
    const excerpt = await logExcerpt(lines(), { failed: true, tailLines: 3, stderrLines: 2 });
    expect(excerpt.totalLines).toBe(100_001);
    expect(excerpt.tail.map((l) => l.text.slice(0, 12))).toEqual(['line 99999', 'line 100000', 'xxxxxxxxxxxx']);
    expect(excerpt.tail[2]!.text).toHaveLength(2000 + '… (cut)'.length);
    expect(excerpt.stderrNearFailure.map((l) => l.text)).toEqual(['line 99990', 'line 100000']);
  });
});
