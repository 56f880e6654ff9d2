import { createHash } from 'node:crypto';
import type { MetricsConfigurationPolicy, NoiseLevelType } from '../api/generated/types.js';

/**
 * A trained model's metrics as a member other than the owner sees them, after the association's
 * `privacyConfiguration.policies.trainedModels.containerMetrics` **(decided where AWS says nothing)**:
 * - no `containerMetrics` policy: other members see no metrics (metricViewFor returns undefined);
 * - with one, nothing is published while the run goes: the view is empty until the run has finished
 *   (ACTIVE or CREATE_FAILED), then it holds every point, in the owner's order, with its own time and host;
 * - each value gets Laplace noise. Per metric name, the scale is s = max(mean |v|, standard deviation) of that
 *   metric's values over the whole run (1 when both are 0, so a constant 0 is noised too), and the noise is
 *   Laplace(0, b) with b = k·s: k = 0.20 for HIGH, 0.05 for MEDIUM, 0.01 for LOW; NONE adds nothing;
 * - the noise is deterministic: point i of metric `name` draws its uniform from
 *   SHA-256(seed, name, i), so the same run always shows the same values (seed it with the trained model's
 *   ARN and version) and two trained models never share noise.
 */

export const NOISE_FRACTION: Record<NoiseLevelType, number> = { HIGH: 0.2, MEDIUM: 0.05, LOW: 0.01, NONE: 0 };

export interface PolicyMetricPoint {
  name: string;
  value: number;
  time: Date | string;
  host?: string;
}

export interface RunProgress {
  /** The run has ended (ACTIVE, CREATE_FAILED, INACTIVE after a cancel): its metrics can be published. */
  finished: boolean;
}

/** The owner's full series for a run in, what another account sees out (copies; the input is not touched). */
export type MetricView = <P extends PolicyMetricPoint>(points: readonly P[], run: RunProgress) => P[];

export function metricViewFor(policy: MetricsConfigurationPolicy | undefined, seed: string): MetricView | undefined {
  if (!policy) return undefined;
  const k = NOISE_FRACTION[policy.noiseLevel] ?? NOISE_FRACTION.HIGH;
  return <P extends PolicyMetricPoint>(points: readonly P[], run: RunProgress): P[] => {
    if (!run.finished) return [];
    if (k === 0) return points.map((p) => ({ ...p }));
    const scales = scalesByName(points);
    const seen = new Map<string, number>();
    return points.map((p) => {
      const i = seen.get(p.name) ?? 0;
      seen.set(p.name, i + 1);
      const b = k * (scales.get(p.name) ?? 1);
      return { ...p, value: p.value + laplace(b, uniform(seed, p.name, i)) };
    });
  };
}

function scalesByName(points: readonly PolicyMetricPoint[]): Map<string, number> {
  const byName = new Map<string, number[]>();
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue;
    const values = byName.get(p.name) ?? [];
    values.push(p.value);
    byName.set(p.name, values);
  }
  const scales = new Map<string, number>();
  for (const [name, values] of byName) {
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    const meanAbs = values.reduce((a, v) => a + Math.abs(v), 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    const s = Math.max(meanAbs, sd);
    scales.set(name, s > 0 ? s : 1);
  }
  return scales;
}

/** A uniform draw in (-0.5, 0.5), fixed by (seed, name, index). */
export function uniform(seed: string, name: string, index: number): number {
  const h = createHash('sha256').update(seed).update('\0').update(name).update('\0').update(String(index)).digest();
  // 52 random bits → [0, 1); the +0.5 keeps it strictly inside (0, 1) before centring.
  const u = (h.readUIntBE(0, 6) * 2 ** 4 + (h[6]! >> 4) + 0.5) / 2 ** 52;
  return u - 0.5;
}

/** Laplace(0, b) by inverting its CDF at u ∈ (-0.5, 0.5). */
function laplace(b: number, u: number): number {
  return -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}
