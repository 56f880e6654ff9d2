import { validationException, type ValidationIssue } from '../api/validation.js';
import { compileUserRegex, UserRegexError, type UserRegex } from '../user-regex.js';

/**
 * `customEntityConfig.customDataIdentifiers` are regular expressions (Java-flavoured, as the model's
 * character set and AWS's Java backends suggest). Each is compiled once with RE2 (src/user-regex.ts) into a
 * global, case-sensitive pattern that finds the spans to redact, in time linear in the line whatever the
 * pattern (`(a+)+b` or `(a|a)*b` cannot hang the log reader). RE2 takes Java's needless escapes (`\_`, `\#`,
 * `\ `) as they are.
 *
 * Refused:
 * - patterns that do not compile, or use what only a backtracking engine runs (backreferences, lookahead);
 * - patterns that match the empty string (`a*`, `x?`): they would redact nothing.
 */

export class InvalidCustomDataIdentifierError extends Error {
  override readonly name = 'InvalidCustomDataIdentifierError';
  constructor(
    readonly identifier: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** The RE2 pattern (flags `gu`) for one custom data identifier; throws InvalidCustomDataIdentifierError. */
export function compileCustomDataIdentifier(identifier: string): UserRegex {
  let re: UserRegex;
  try {
    re = compileUserRegex(identifier, 'g');
  } catch (e) {
    if (e instanceof UserRegexError) throw new InvalidCustomDataIdentifierError(identifier, e.constraint);
    throw e;
  }
  if (compileUserRegex(identifier).test('')) {
    throw new InvalidCustomDataIdentifierError(identifier, 'Member must be a regular expression that does not match the empty string');
  }
  return re;
}

/**
 * For CreateConfiguredModelAlgorithmAssociation: throws the API's ValidationException naming every custom
 * data identifier that will not compile. `path` is where the list sits in the request, e.g.
 * `privacyConfiguration.policies.trainedModels.containerLogs.1.member.logRedactionConfiguration.customEntityConfig.customDataIdentifiers`.
 */
export function assertCustomDataIdentifiers(identifiers: readonly string[], path = 'customDataIdentifiers'): void {
  const issues = customDataIdentifierIssues(identifiers, path);
  if (issues.length > 0) throw validationException(issues);
}

export function customDataIdentifierIssues(identifiers: readonly string[], path: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  identifiers.forEach((identifier, i) => {
    try {
      compileCustomDataIdentifier(identifier);
    } catch (e) {
      if (!(e instanceof InvalidCustomDataIdentifierError)) throw e;
      issues.push({ path: `${path}.${i + 1}.member`, value: identifier, constraint: e.message });
    }
  });
  return issues;
}
