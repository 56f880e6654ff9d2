import { compileMetricDefinition, extractMetrics, type CompiledMetricDefinition } from './metric-definition.js';
import type { MetricDefinitionSpec } from './types.js';

/** One run's metric definitions, compiled once. */
export class MetricExtractor {
  private readonly definitions: CompiledMetricDefinition[];

  constructor(definitions: readonly MetricDefinitionSpec[]) {
    this.definitions = definitions.map(compileMetricDefinition);
  }

  extract(line: string): { name: string; value: number }[] {
    return this.definitions.length === 0 ? [] : extractMetrics(this.definitions, line);
  }
}
