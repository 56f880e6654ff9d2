import type { TrainedModelsConfigurationPolicy } from '../api/generated/types.js';
import { validationException, type ValidationIssue } from '../api/validation.js';
import { customDataIdentifierIssues } from './custom-data-identifier.js';
import { compileFilterPattern, InvalidFilterPatternError } from './filter-pattern.js';

/**
 * What CreateConfiguredModelAlgorithmAssociation checks in `privacyConfiguration.policies.trainedModels`
 * beyond the model's own constraints (the generated schemas check those): every filter pattern parses and is
 * one the local runner can apply, CUSTOM and customEntityConfig come together (the model's documentation says
 * both or neither), and every custom data identifier compiles. Throws the API's ValidationException.
 */
export function assertTrainedModelsConfigurationPolicy(
  policy: TrainedModelsConfigurationPolicy | undefined,
  path = 'privacyConfiguration.policies.trainedModels',
): void {
  const issues: ValidationIssue[] = [];
  (policy?.containerLogs ?? []).forEach((logs, i) => {
    const at = `${path}.containerLogs.${i + 1}.member`;
    try {
      compileFilterPattern(logs.filterPattern);
    } catch (e) {
      if (!(e instanceof InvalidFilterPatternError)) throw e;
      issues.push({ path: `${at}.filterPattern`, value: logs.filterPattern, constraint: `Member must be a supported filter pattern: ${e.message}` });
    }
    const redaction = logs.logRedactionConfiguration;
    if (!redaction) return;
    const custom = redaction.entitiesToRedact.includes('CUSTOM');
    if (custom && !redaction.customEntityConfig) {
      issues.push({
        path: `${at}.logRedactionConfiguration.customEntityConfig`,
        value: null,
        constraint: 'Member must not be null when entitiesToRedact includes CUSTOM',
      });
    }
    if (!custom && redaction.customEntityConfig) {
      issues.push({
        path: `${at}.logRedactionConfiguration.entitiesToRedact`,
        value: redaction.entitiesToRedact,
        constraint: 'Member must include CUSTOM when customEntityConfig is given',
      });
    }
    if (redaction.customEntityConfig) {
      issues.push(
        ...customDataIdentifierIssues(
          redaction.customEntityConfig.customDataIdentifiers,
          `${at}.logRedactionConfiguration.customEntityConfig.customDataIdentifiers`,
        ),
      );
    }
  });
  if (issues.length > 0) throw validationException(issues);
}
