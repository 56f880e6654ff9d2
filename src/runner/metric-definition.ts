import { compileUserRegex, UserRegexError, type UserRegex } from '../user-regex.js';
import type { MetricDefinitionSpec } from './types.js';

/** A metric definition whose regex cannot run here; the message fits "failed to satisfy constraint: …". */
export class MetricDefinitionError extends Error {
  override readonly name = 'MetricDefinitionError';
}

export interface CompiledMetricDefinition {
  name: string;
  /** RE2: linear in the line, whatever the pattern (a user's `(a+)+$` cannot stall log capture). */
  regex: UserRegex;
  /** Text every match must contain: a line without it is skipped without running the regex (most lines). */
  literal?: string;
}

const META = new Set([...'\\^$.|?*+()[]{}']);

/**
 * The literal text a regex starts with (after an optional `^`), when every match must contain it: none when the
 * regex has an alternation or flags that change matching (case-insensitive), and the last character is dropped
 * when a quantifier follows it (`abc?` requires only `ab`).
 */
export function requiredLiteral(source: string, flags: string): string | undefined {
  if (flags.includes('i') || source.includes('|')) return undefined;
  let i = source.startsWith('^') ? 1 : 0;
  let literal = '';
  for (; i < source.length && !META.has(source[i]!); i++) literal += source[i];
  if (i < source.length && '?*{'.includes(source[i]!)) literal = literal.slice(0, -1);
  return literal.length >= 2 ? literal : undefined;
}

/**
 * Metric definitions are SageMaker regexes (Python `re` syntax), run with RE2 (see src/user-regex.ts), which reads
 * most of it as is: named groups `(?P<name>…)`, `\A`, `\Z`, scoped flags `(?i:…)`. What differs is translated
 * here: global inline flags at the start (`(?i)`, `(?m)`, `(?s)`, and `(?a)`, `(?u)`, which change nothing here)
 * become flags, so that the literal prefilter knows about them, and comments `(?#…)` go; the flags RE2 has no
 * equivalent for, and global flags anywhere but at the start (which Python refuses too), are refused.
 */
export function translatePythonRegex(regex: string): { source: string; flags: string } {
  let source = regex.replace(/\(\?#[^)]*\)/g, '');
  let flags = '';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    for (const f of inline[1]!) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
      else if (f !== 'a' && f !== 'u') throw new MetricDefinitionError(`Member must be a valid regular expression (the inline flag (?${f}) has no RE2 equivalent)`);
    }
    source = source.slice(inline[0].length);
  }
  if (/\(\?[aiLmsux-]+\)/.test(source)) {
    throw new MetricDefinitionError('Member must be a valid regular expression (global inline flags are only supported at the start)');
  }
  // Scoped flags `(?i:…)` are RE2's too; `a` and `u` change nothing here, `L` and `x` have no equivalent.
  source = source.replace(/\(\?([aiLmsux-]+):/g, (group, f: string) => {
    const bad = /[Lx]/.exec(f);
    if (bad) throw new MetricDefinitionError(`Member must be a valid regular expression (the inline flag ${bad[0]} in ${group}…) has no RE2 equivalent)`);
    return `(?${f.replace(/[au]/g, '')}:`;
  });
  return { source, flags };
}

/** The regex of one metric definition, ready to run over log lines; throws MetricDefinitionError when it cannot. */
export function compileMetricDefinition(definition: MetricDefinitionSpec): CompiledMetricDefinition {
  const { source, flags } = translatePythonRegex(definition.regex);
  try {
    return { name: definition.name, regex: compileUserRegex(source, flags), literal: requiredLiteral(source, flags) };
  } catch (e) {
    if (e instanceof UserRegexError) throw new MetricDefinitionError(e.constraint, { cause: e });
    throw e;
  }
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A captured value as a number, or undefined when it is not a finite decimal number (`nan`, `1.2.3`, `epoch=1`). */
export function parseMetricValue(text: string): number | undefined {
  const t = text.trim();
  if (!DECIMAL.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/** Runs every definition over a line: each match is one data point (capture group 1, or the whole match). */
export function extractMetrics(definitions: readonly CompiledMetricDefinition[], line: string): { name: string; value: number }[] {
  const points: { name: string; value: number }[] = [];
  for (const d of definitions) {
    if (d.literal !== undefined && !line.includes(d.literal)) continue;
    const m = d.regex.exec(line);
    if (!m) continue;
    const value = parseMetricValue(m.length > 1 ? (m[1] ?? '') : m[0]);
    if (value !== undefined) points.push({ name: d.name, value });
  }
  return points;
}
