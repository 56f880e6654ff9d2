/** What other members of a collaboration may see of a trained model: the association's trainedModels policy. */
export { logViewFor, type LogView, type PolicyLogLine } from './log-policy.js';
export { metricViewFor, NOISE_FRACTION, type MetricView, type PolicyMetricPoint, type RunProgress } from './metric-policy.js';
export { checkArtifactSize, maxArtifactBytes } from './artifact-policy.js';
export {
  assertCustomDataIdentifiers,
  compileCustomDataIdentifier,
  InvalidCustomDataIdentifierError,
} from './custom-data-identifier.js';
export { assertTrainedModelsConfigurationPolicy } from './policy-validation.js';
export { compileFilterPattern, InvalidFilterPatternError, UnsupportedFilterPatternError } from './filter-pattern.js';
export { compileLogRedaction, InvalidLogRedactionConfigurationError, REDACTION_TOKENS } from './log-redaction.js';
export { isErrorSummaryLine } from './error-summary.js';
