import { validationException, type ValidationIssue } from '../api/validation.js';

/**
 * `customEntityConfig.customDataIdentifiers` are regular expressions (Java-flavoured, as the model's
 * character set and AWS's Java backends suggest). Each is compiled once into a global, case-sensitive
 * JavaScript RegExp (flag `u`) that finds the spans to redact. Java lets any punctuation be escaped
 * (`\_`, `\#`, `\ `); those needless backslashes are dropped so `u` mode accepts them.
 *
 * Refused, because they would either redact nothing or hang the log reader on a long line:
 * - patterns that do not compile;
 * - patterns that match the empty string (`a*`, `x?`);
 * - a repeated group that itself holds a repetition (`(a+)+`, `(\d*)*`, `(ab+){2,}`): the classic
 *   catastrophic-backtracking shape.
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

const JS_SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);

/** Drops backslashes JavaScript's `u` mode refuses (identity escapes of non-syntax characters). */
function toJavaScriptSource(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i]!;
      const keep = /[A-Za-z0-9]/.test(next) || JS_SYNTAX.has(next) || (inClass && next === '-');
      out += keep ? `\\${next}` : next;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** Whether a repeated group holds an unbounded repetition (see the module comment). */
function hasNestedRepetition(source: string): boolean {
  const stack: boolean[] = [false];
  const repeatAt = (i: number): boolean => source[i] === '*' || source[i] === '+' || (source[i] === '{' && /^\{\d+,\d*\}/.test(source.slice(i)));
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === ')' && stack.length > 1) {
      const inner = stack.pop()!;
      const repeated = repeatAt(i + 1);
      if (inner && repeated) return true;
      stack[stack.length - 1] ||= inner || repeated;
    } else if (repeatAt(i)) stack[stack.length - 1] = true;
  }
  return false;
}

/** The RegExp (flags `gu`) for one custom data identifier; throws InvalidCustomDataIdentifierError. */
export function compileCustomDataIdentifier(identifier: string): RegExp {
  const source = toJavaScriptSource(identifier);
  let re: RegExp;
  try {
    re = new RegExp(source, 'gu');
  } catch (e) {
    // V8 says "Invalid regular expression: /<source>/gu: <reason>"; the reason is what the user needs.
    const message = (e as Error).message;
    const prefix = `Invalid regular expression: /${source}/gu: `;
    const detail = message.startsWith(prefix) ? message.slice(prefix.length) : message;
    throw new InvalidCustomDataIdentifierError(identifier, `Member must be a valid regular expression (${detail})`);
  }
  if (new RegExp(source, 'u').test('')) {
    throw new InvalidCustomDataIdentifierError(identifier, 'Member must be a regular expression that does not match the empty string');
  }
  if (hasNestedRepetition(source)) {
    throw new InvalidCustomDataIdentifierError(
      identifier,
      'Member must not repeat a group that itself repeats (catastrophic backtracking)',
    );
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
