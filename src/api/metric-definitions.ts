import { validationException } from './validation.js';
import { compileMetricDefinition } from '../runner/metric-definition.js';

/** A regex that will not compile is refused at CreateConfiguredModelAlgorithm (contract §7). */
export function assertMetricDefinitions(defs: readonly { name: string; regex: string }[]): void {
  defs.forEach((d, i) => {
    try {
      compileMetricDefinition(d);
    } catch (e) {
      throw validationException([
        { path: `trainingContainerConfig.metricDefinitions.${i + 1}.member.regex`, value: d.regex, constraint: (e as Error).message },
      ]);
    }
  });
}
