import { describe, expect, it } from 'vitest';
import { metricViewFor, NOISE_FRACTION, uniform } from '../../src/privacy/metric-policy.js';

const SEED = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/m/trained-model/abc#v1';

/** The owner's series: loss falling from 1.0, accuracy rising to 0.9, as a store returns them (with seq). */
function series(n = 20) {
  const points = [];
  for (let i = 0; i < n; i++) {
    const time = new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString();
    points.push({ seq: 2 * i + 1, name: 'train:loss', value: 1 / (1 + i), time, host: 'algo-1' });
    points.push({ seq: 2 * i + 2, name: 'validation:accuracy', value: 0.5 + (0.4 * i) / (n - 1), time, host: 'algo-1' });
  }
  return points;
}

describe('metricViewFor', () => {
  it('gives other members no metrics when the association has no containerMetrics policy', () => {
    expect(metricViewFor(undefined, SEED)).toBeUndefined();
  });

  it('publishes nothing while the run is in progress, at every noise level', () => {
    for (const noiseLevel of ['HIGH', 'MEDIUM', 'LOW', 'NONE'] as const) {
      expect(metricViewFor({ noiseLevel }, SEED)!(series(), { finished: false })).toEqual([]);
    }
  });

  it('publishes the exact values at the end under NONE', () => {
    const owner = series();
    expect(metricViewFor({ noiseLevel: 'NONE' }, SEED)!(owner, { finished: true })).toEqual(owner);
  });

  it('changes every value under HIGH, keeping names, times, hosts, order and extra fields', () => {
    const owner = series();
    const before = structuredClone(owner);
    const seen = metricViewFor({ noiseLevel: 'HIGH' }, SEED)!(owner, { finished: true });
    expect(owner).toEqual(before);
    expect(seen).toHaveLength(owner.length);
    seen.forEach((p, i) => {
      const o = owner[i]!;
      expect({ ...p, value: 0 }).toEqual({ ...o, value: 0 });
      expect(p.value).not.toBe(o.value);
      expect(Number.isFinite(p.value)).toBe(true);
    });
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const view = metricViewFor({ noiseLevel: 'MEDIUM' }, SEED)!;
    expect(view(series(), { finished: true })).toEqual(view(series(), { finished: true }));
    const other = metricViewFor({ noiseLevel: 'MEDIUM' }, `${SEED}x`)!(series(), { finished: true });
    expect(other.map((p) => p.value)).not.toEqual(view(series(), { finished: true }).map((p) => p.value));
  });

  it('scales Laplace noise to the series: mean |noise| ≈ k × max(mean |v|, sd) per level', () => {
    const n = 4000;
    const owner = Array.from({ length: n }, (_, i) => ({ name: 'm', value: 100 + (i % 10), time: new Date(i) }));
    const meanAbs = owner.reduce((a, p) => a + Math.abs(p.value), 0) / n;
    const errors: Record<string, number> = {};
    for (const level of ['HIGH', 'MEDIUM', 'LOW'] as const) {
      const seen = metricViewFor({ noiseLevel: level }, SEED)!(owner, { finished: true });
      const mae = seen.reduce((a, p, i) => a + Math.abs(p.value - owner[i]!.value), 0) / n;
      errors[level] = mae;
      // For Laplace(0, b), E|X| = b.
      expect(mae / (NOISE_FRACTION[level] * meanAbs)).toBeGreaterThan(0.9);
      expect(mae / (NOISE_FRACTION[level] * meanAbs)).toBeLessThan(1.1);
    }
    expect(errors.HIGH!).toBeGreaterThan(errors.MEDIUM!);
    expect(errors.MEDIUM!).toBeGreaterThan(errors.LOW!);
  });

  it('noises a constant zero series too', () => {
    const owner = [0, 0, 0].map((value, i) => ({ name: 'zero', value, time: new Date(i) }));
    const seen = metricViewFor({ noiseLevel: 'LOW' }, SEED)!(owner, { finished: true });
    expect(seen.every((p) => p.value !== 0)).toBe(true);
  });

  it('draws uniforms strictly inside (-0.5, 0.5)', () => {
    for (let i = 0; i < 1000; i++) {
      const u = uniform(SEED, 'm', i);
      expect(u).toBeGreaterThan(-0.5);
      expect(u).toBeLessThan(0.5);
    }
  });
});
