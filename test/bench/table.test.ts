import { describe, expect, it } from 'vitest';
import { goalMet, ratio, renderTable, stats, type Row } from '../../bench/table.js';
import { parseWrk } from '../../bench/cases.js';

const row = (ours: number[], base: number[], goal: Row['goal'], extra: Partial<Row> = {}): Row => ({
  measure: 'm', baseline: 'b', unit: 'ms', ours: stats(ours), base: stats(base), goal, ...extra,
});

describe("the bench's table", () => {
  it('summarises samples as min, median and max', () => {
    expect(stats([5, 1, 3])).toEqual({ min: 1, median: 3, max: 5, n: 3 });
    expect(stats([4, 1, 3, 2]).median).toBe(2.5);
  });

  it('judges the ratio of the medians against the goal, and every check with it', () => {
    expect(ratio(row([130, 120, 500], [100, 90, 110], { atMost: 1.3 }))).toBeCloseTo(1.3);
    expect(goalMet(row([130], [100], { atMost: 1.3 }))).toBe(true);
    expect(goalMet(row([131], [100], { atMost: 1.3 }))).toBe(false);
    expect(goalMet(row([30], [100], { atLeast: 0.3 }))).toBe(true);
    expect(goalMet(row([29], [100], { atLeast: 0.3 }))).toBe(false);
    expect(goalMet(row([30], [100], { atLeast: 0.3 }, { checks: [{ name: '0 lost', ok: false }] }))).toBe(false);
    expect(goalMet({ measure: 'rss', baseline: '—', unit: 'MB', ours: stats([150, 199]), goal: { below: 200, unit: 'MB' } })).toBe(true);
    expect(goalMet({ measure: 'rss', baseline: '—', unit: 'MB', ours: stats([150, 201]), goal: { below: 200, unit: 'MB' } })).toBe(false);
  });

  it('prints one Markdown table, with what was missed and what was skipped', () => {
    const text = renderTable([
      row([120, 125, 140], [100, 100, 100], { atMost: 1.3 }),
      row([400], [100], { atMost: 2.5 }, { checks: [{ name: '0 lost', ok: true }] }),
      { ...row([1], [1], { atMost: 1.3 }), skipped: 'no crml train' },
    ]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\| measure +\| ours min \/ median \/ max/);
    expect(lines[2]).toContain('120 / 125 / 140 ms');
    expect(lines[2]).toMatch(/1\.25x +\| ≤ 1\.3x +\| yes/);
    expect(lines[3]).toMatch(/4\.00x +\| ≤ 2\.5x +\| NO \(0 lost\)/);
    expect(lines[4]).toContain('skipped: no crml train');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it("reads wrk's requests per second, its p99 and its errors", () => {
    const out = `Running 5s test @ http://127.0.0.1:1/
  Latency Distribution
     50%    2.09ms
     75%    3.00ms
     90%    5.00ms
     99%  825.18us
  27000 requests in 5.00s, 30.0MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:   5397.76
`;
    expect(parseWrk(out)).toEqual({ requestsPerSecond: 5397.76, p99Ms: expect.closeTo(0.82518, 6) as number, errors: 7 });
  });
});
