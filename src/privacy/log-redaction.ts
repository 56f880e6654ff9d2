import type { LogRedactionConfiguration } from '../api/generated/types.js';
import { compileCustomDataIdentifier } from './custom-data-identifier.js';
import { customDetector, numbersDetector, piiDetectors, replaceSpans, type EntityDetector } from './entity-detectors.js';

/**
 * A logs policy's `logRedactionConfiguration`, applied to one line (or an error message) **(decided)**:
 * - every requested entity is looked for in the original text, then all found spans are replaced at once
 *   (overlaps merge; CUSTOM's token beats a PII token beats `<NUMBER>`), so a token is never matched again;
 * - `NUMBERS` → `<NUMBER>`: every numeric character goes, whatever it belongs to (`algo-1` → `algo-<NUMBER>`);
 * - `ALL_PERSONALLY_IDENTIFIABLE_INFORMATION` → `<EMAIL_ADDRESS>`, `<PHONE_NUMBER>`, `<CREDIT_CARD_NUMBER>`
 *   (Luhn-checked), `<US_SSN>`, `<IP_ADDRESS>` (v4 and v6), `<MAC_ADDRESS>`, `<AWS_ACCESS_KEY>`. Entities that
 *   need language understanding (names, street addresses) are not detected locally;
 * - `CUSTOM` → `<CUSTOM>` for every match of every `customEntityConfig.customDataIdentifiers` regex.
 */

export class InvalidLogRedactionConfigurationError extends Error {
  override readonly name = 'InvalidLogRedactionConfigurationError';
}

export type Redactor = (text: string) => string;

export const REDACTION_TOKENS = {
  NUMBERS: '<NUMBER>',
  CUSTOM: '<CUSTOM>',
  ALL_PERSONALLY_IDENTIFIABLE_INFORMATION: piiDetectors.map((d) => d.token).filter((t, i, all) => all.indexOf(t) === i),
} as const;

/** Compiles a redaction configuration; throws InvalidLogRedactionConfigurationError or InvalidCustomDataIdentifierError. */
export function compileLogRedaction(config: LogRedactionConfiguration | undefined): Redactor {
  if (!config) return (text) => text;
  const entities = new Set(config.entitiesToRedact);
  const identifiers = config.customEntityConfig?.customDataIdentifiers ?? [];
  if (entities.has('CUSTOM') && identifiers.length === 0) {
    throw new InvalidLogRedactionConfigurationError('CUSTOM redaction needs customEntityConfig.customDataIdentifiers');
  }
  if (!entities.has('CUSTOM') && config.customEntityConfig) {
    throw new InvalidLogRedactionConfigurationError('customEntityConfig is only allowed when entitiesToRedact includes CUSTOM');
  }
  const detectors: EntityDetector[] = [];
  if (entities.has('NUMBERS')) detectors.push(numbersDetector);
  if (entities.has('ALL_PERSONALLY_IDENTIFIABLE_INFORMATION')) detectors.push(...piiDetectors);
  if (entities.has('CUSTOM')) detectors.push(...identifiers.map((id) => customDetector(compileCustomDataIdentifier(id))));
  if (detectors.length === 0) return (text) => text;
  return (text) => replaceSpans(text, detectors.flatMap((d) => d.find(text)));
}
