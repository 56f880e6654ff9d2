import { ValidationException } from './generated/errors.js';
import { compileMetricDefinition } from '../runner/metric-definition.js';

/** A regex that will not compile is refused at CreateConfiguredModelAlgorithm (contract §7). */
export function assertMetricDefinitions(defs: readonly { name: string; regex: string }[]): void {
  defs.forEach((d, i) => {
    try {
      compileMetricDefinition(d);
    } catch (e) {
      throw new ValidationException(
        `1 validation error detected: Value '${d.regex}' at 'trainingContainerConfig.metricDefinitions.${i + 1}.member.regex' failed to satisfy constraint: ${(e as Error).message}`,
      );
    }
  });
}
