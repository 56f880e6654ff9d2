import { compileMetricDefinition, extractMetrics, type CompiledMetricDefinition } from './metric-definition.js';
import type { MetricDefinitionSpec } from './types.js';

const NONE: { name: string; value: number }[] = [];

/** One run's metric definitions, compiled once. */
export class MetricExtractor {
  private readonly definitions: CompiledMetricDefinition[];
  /**
   * When every definition has a required literal, one scan for any of them rules out most lines at once,
   * instead of one scan per definition (a run may print millions of lines under dozens of definitions).
   */
  private readonly anyLiteral: RegExp | undefined;

  constructor(definitions: readonly MetricDefinitionSpec[]) {
    this.definitions = definitions.map(compileMetricDefinition);
    const literals = this.definitions.map((d) => d.literal);
    this.anyLiteral =
      literals.length > 0 && literals.every((l) => l !== undefined)
        ? new RegExp([...new Set(literals)].map((l) => l!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'))
        : undefined;
  }

  extract(line: string): { name: string; value: number }[] {
    if (this.definitions.length === 0) return NONE;
    if (this.anyLiteral && !this.anyLiteral.test(line)) return NONE;
    return extractMetrics(this.definitions, line);
  }
}
