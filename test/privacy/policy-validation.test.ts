import { describe, expect, it } from 'vitest';
import { ValidationException } from '../../src/api/generated/errors.js';
import {
  assertCustomDataIdentifiers,
  compileCustomDataIdentifier,
  InvalidCustomDataIdentifierError,
} from '../../src/privacy/custom-data-identifier.js';
import { assertTrainedModelsConfigurationPolicy } from '../../src/privacy/policy-validation.js';
import { compileLogRedaction } from '../../src/privacy/log-redaction.js';

function caught(fn: () => void): ValidationException {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationException);
    return e as ValidationException;
  }
  throw new Error('expected a ValidationException');
}

describe('assertCustomDataIdentifiers', () => {
  it('accepts identifiers in the model character set, Java-style escapes included', () => {
    expect(() => assertCustomDataIdentifiers(['patient\\_[0-9]+', 'acct\\#\\d{4}', '[A-Z]{2}\\-\\d+', 'a\\ b', '(foo|bar)\\d'])).not.toThrow();
    expect(compileCustomDataIdentifier('acct\\#\\d{4}').flags).toBe('gu');
  });

  it('names each identifier that will not compile, the AWS way', () => {
    const e = caught(() => assertCustomDataIdentifiers(['ok[0-9]+', '[a-', '(x']));
    expect(e.name).toBe('ValidationException');
    expect(e.httpStatusCode).toBe(400);
    expect(e.message).toBe(
      "2 validation errors detected: Value '[a-' at 'customDataIdentifiers.2.member' failed to satisfy constraint: " +
        'Member must be a valid regular expression (missing ]: [a-); ' +
        "Value '(x' at 'customDataIdentifiers.3.member' failed to satisfy constraint: " +
        'Member must be a valid regular expression (missing ): (x)',
    );
  });

  it('refuses identifiers that match the empty string, and names what only a backtracking engine runs', () => {
    expect(() => compileCustomDataIdentifier('a*')).toThrow(/empty string/);
    expect(() => compileCustomDataIdentifier('x?')).toThrow(InvalidCustomDataIdentifierError);
    expect(() => compileCustomDataIdentifier(String.raw`(\d)\1`)).toThrow(/without backreferences or lookaround \(the backreference \\1/);
    expect(() => compileCustomDataIdentifier('acct(?=[0-9])')).toThrow(/the lookahead \(\?= is not supported/);
    expect(() => compileCustomDataIdentifier('(ab)+[0-9]+')).not.toThrow();
    expect(() => compileCustomDataIdentifier('[(a+)]+')).not.toThrow();
  });

  it('redacts in time linear in the line, whatever the pattern (the old screen missed (a|a)*b)', () => {
    const t0 = performance.now();
    for (const id of ['(a|a)*b', '(a+)+b', String.raw`(\d*x)*y`, '(ab+){2,}c']) {
      const re = compileCustomDataIdentifier(id);
      // 28 characters took a backtracking engine seconds; 100,000 take RE2 no time.
      expect([...`${'a'.repeat(28)}!`.matchAll(re)]).toEqual([]);
      expect([...`${'a'.repeat(100_000)}!`.matchAll(re)]).toEqual([]);
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(compileLogRedaction({ entitiesToRedact: ['CUSTOM'], customEntityConfig: { customDataIdentifiers: ['(a|a)*b'] } })('x aab y')).toBe('x <CUSTOM> y');
  });

  it('uses the path it is given', () => {
    const e = caught(() => assertCustomDataIdentifiers(['a*'], 'x.customDataIdentifiers'));
    expect(e.message).toBe(
      "1 validation error detected: Value 'a*' at 'x.customDataIdentifiers.1.member' failed to satisfy constraint: " +
        'Member must be a regular expression that does not match the empty string',
    );
  });
});

describe('assertTrainedModelsConfigurationPolicy', () => {
  it('accepts a valid policy and no policy', () => {
    expect(() => assertTrainedModelsConfigurationPolicy(undefined)).not.toThrow();
    expect(() =>
      assertTrainedModelsConfigurationPolicy({
        containerLogs: [
          {
            allowedAccountIds: ['222222222222'],
            filterPattern: '?ERROR ?Traceback',
            logType: 'ERROR_SUMMARY',
            logRedactionConfiguration: { entitiesToRedact: ['NUMBERS', 'CUSTOM'], customEntityConfig: { customDataIdentifiers: ['id=\\d+'] } },
          },
        ],
        containerMetrics: { noiseLevel: 'HIGH' },
        maxArtifactSize: { unit: 'GB', value: 1 },
      }),
    ).not.toThrow();
  });

  it('names every problem with its full member path', () => {
    const e = caught(() =>
      assertTrainedModelsConfigurationPolicy({
        containerLogs: [
          { allowedAccountIds: ['222222222222'], filterPattern: 'ok' },
          { allowedAccountIds: ['222222222222'], filterPattern: '{ $.level = "ERROR" }', logRedactionConfiguration: { entitiesToRedact: ['CUSTOM'] } },
          {
            allowedAccountIds: ['222222222222'],
            logRedactionConfiguration: { entitiesToRedact: ['NUMBERS'], customEntityConfig: { customDataIdentifiers: ['[z'] } },
          },
        ],
      }),
    );
    const base = 'privacyConfiguration.policies.trainedModels.containerLogs';
    expect(e.message).toBe(
      '4 validation errors detected: ' +
        `Value '{ $.level = "ERROR" }' at '${base}.2.member.filterPattern' failed to satisfy constraint: ` +
        'Member must be a supported filter pattern: JSON filter patterns ({ $.field ... }) are not supported by the local runner; ' +
        `Value null at '${base}.2.member.logRedactionConfiguration.customEntityConfig' failed to satisfy constraint: ` +
        'Member must not be null when entitiesToRedact includes CUSTOM; ' +
        `Value '[NUMBERS]' at '${base}.3.member.logRedactionConfiguration.entitiesToRedact' failed to satisfy constraint: ` +
        'Member must include CUSTOM when customEntityConfig is given; ' +
        `Value '[z' at '${base}.3.member.logRedactionConfiguration.customEntityConfig.customDataIdentifiers.1.member' ` +
        'failed to satisfy constraint: Member must be a valid regular expression (missing ]: [z)',
    );
  });
});
