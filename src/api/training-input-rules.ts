import type * as T from './generated/types.js';
import { validationException, type ValidationIssue } from './validation.js';
import { channelVariable, hyperparameterVariable } from '../runner/training-environment.js';

/**
 * What a training container can be given, checked at create so that bad input is a ValidationException naming
 * it, never a run that fails later as INTERNAL_ERROR or blames the algorithm, and never a silent change
 * (decided where AWS is silent; the README lists these rules):
 * - an environment string cannot carry NUL, nor an unpaired surrogate (it has no UTF-8 form): refused in
 *   hyperparameter keys and values, environment values, and the algorithm's entrypoint and arguments;
 * - Linux refuses one environment string longer than MAX_ARG_STRLEN (131072 bytes, `NAME=value` and its NUL):
 *   `SM_HPS`, all hyperparameters as JSON, is refused when it would be longer. The model's caps (100 entries of
 *   at most 256 + 2500 characters, 100 environment entries of 512 + 512) keep every other variable, and the
 *   whole environment, within Linux's limits;
 * - a hyperparameter key becomes `SM_HP_<KEY>` (upper-cased, `-` and `.` as `_`): a key with `=` would set
 *   another variable, and two keys that give the same name would silently lose one; both are refused;
 * - a channel name becomes the folder `/opt/ml/input/data/<name>` and `SM_CHANNEL_<NAME>`: `.` and `..` are
 *   not folders of their own, and two names that give the same variable would silently lose one; refused.
 * Environment keys are case-sensitive, as Linux's are (`foo` and `FOO` are two variables), and the model's
 * pattern already keeps `=` and NUL out of them.
 */

/** Linux's limit on one environment string, its terminating NUL included (MAX_ARG_STRLEN, 32 pages). */
export const MAX_ENVIRONMENT_STRING_BYTES = 131_072;

const UNCARRIABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The first character an environment string cannot carry, spelled so a message can show it. */
function uncarriable(text: string): string | undefined {
  const m = UNCARRIABLE.exec(text);
  if (!m) return undefined;
  return m[0] === '\u0000' ? 'NUL (\\u0000)' : `an unpaired surrogate (\\u${m[0].charCodeAt(0).toString(16).toUpperCase()})`;
}

/** The text with NUL and unpaired surrogates written as escapes, for a message. */
function visible(text: string): string {
  return text.replace(new RegExp(UNCARRIABLE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

function carriable(issues: ValidationIssue[], path: string, text: string, what: string): void {
  const bad = uncarriable(text);
  if (bad) issues.push({ path, value: visible(text), constraint: `${what} must not contain ${bad}: a container's environment cannot carry it` });
}

/** CreateTrainedModel's hyperparameters, environment and channel names; throws ValidationException. */
export function assertTrainingInput(input: T.CreateTrainedModelRequest): void {
  const issues: ValidationIssue[] = [];
  const hyperparameters = input.hyperparameters ?? {};
  const byVariable = new Map<string, string>();
  for (const [key, value] of Object.entries(hyperparameters)) {
    const path = `hyperparameters.${visible(key)}`;
    carriable(issues, 'hyperparameters', key, 'Map keys');
    carriable(issues, path, value, 'Map value');
    const name = hyperparameterVariable(key);
    if (key.includes('=')) {
      issues.push({ path: 'hyperparameters', value: key, constraint: `Map keys must not contain '=': ${name} would not be a valid environment variable name` });
      continue;
    }
    const other = byVariable.get(name);
    if (other !== undefined) {
      issues.push({ path: 'hyperparameters', value: key, constraint: `Map keys must give distinct environment variables: '${other}' and '${key}' would both set ${name}` });
    }
    byVariable.set(name, key);
  }
  if (input.environment?.SM_HPS === undefined) {
    const bytes = Buffer.byteLength(`SM_HPS=${JSON.stringify(hyperparameters)}`) + 1;
    if (bytes > MAX_ENVIRONMENT_STRING_BYTES) {
      issues.push({
        path: 'hyperparameters',
        // Too long to repeat in a message: left out, as a sensitive value is.
        value: hyperparameters,
        sensitive: true,
        constraint:
          `The hyperparameters are too large for the container's environment: SM_HPS would be ${bytes} bytes, ` +
          `and Linux limits one environment string to ${MAX_ENVIRONMENT_STRING_BYTES} bytes (MAX_ARG_STRLEN)`,
      });
    }
  }
  for (const [key, value] of Object.entries(input.environment ?? {})) carriable(issues, `environment.${key}`, value, 'Map value');

  const names = [
    ...input.dataChannels.map((c, i) => ({ name: c.channelName, path: `dataChannels.${i + 1}.member.channelName` })),
    ...(input.incrementalTrainingDataChannels ?? []).map((c, i) => ({ name: c.channelName, path: `incrementalTrainingDataChannels.${i + 1}.member.channelName` })),
  ];
  const byChannelVariable = new Map<string, string>();
  for (const { name, path } of names) {
    if (name === '.' || name === '..') {
      issues.push({ path, value: name, constraint: `Member must not be '.' or '..': it would not be a folder of its own under /opt/ml/input/data` });
      continue;
    }
    const variable = channelVariable(name);
    const other = byChannelVariable.get(variable);
    // Equal names are the uniqueness check's, in the operation.
    if (other !== undefined && other !== name) {
      issues.push({ path, value: name, constraint: `Channel names must give distinct environment variables: '${other}' and '${name}' would both set ${variable}` });
    }
    byChannelVariable.set(variable, name);
  }
  if (issues.length > 0) throw validationException(issues);
}

/** CreateConfiguredModelAlgorithm's entrypoint and arguments: a process's arguments cannot carry NUL either. */
export function assertContainerCommand(config: T.ContainerConfig, path: string): void {
  const issues: ValidationIssue[] = [];
  for (const member of ['entrypoint', 'arguments'] as const) {
    config[member]?.forEach((arg, i) => {
      const bad = uncarriable(arg);
      if (bad) issues.push({ path: `${path}.${member}.${i + 1}.member`, value: visible(arg), constraint: `Member must not contain ${bad}: a container's command line cannot carry it` });
    });
  }
  if (issues.length > 0) throw validationException(issues);
}
