import type { MetricDefinitionSpec } from './types.js';

/** A metric definition whose regex cannot run here; the message fits "failed to satisfy constraint: …". */
export class MetricDefinitionError extends Error {
  override readonly name = 'MetricDefinitionError';
}

export interface CompiledMetricDefinition {
  name: string;
  regex: RegExp;
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

const NAME = '[A-Za-z_][A-Za-z0-9_]*';

/**
 * Metric definitions are SageMaker regexes (Python `re` syntax). JavaScript reads most of it as is; what
 * differs is translated: named groups `(?P<name>…)`, back-references `(?P=name)`, `\A` and `\Z`, and global
 * inline flags at the start (`(?i)`, `(?m)`, `(?s)`); flags with no JavaScript equivalent are refused.
 */
export function translatePythonRegex(regex: string): { source: string; flags: string } {
  let source = regex
    .replace(new RegExp(`\\(\\?P<(${NAME})>`, 'g'), '(?<$1>')
    .replace(new RegExp(`\\(\\?P=(${NAME})\\)`, 'g'), '\\k<$1>')
    // Python's absolute anchors; with no `m` flag JavaScript's ^ and $ mean the same on one line.
    .replace(/(^|[^\\])\\A/g, '$1^')
    .replace(/(^|[^\\])\\Z/g, '$1$');
  let flags = '';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    for (const f of inline[1]!) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
      else if (f !== 'a' && f !== 'u') throw new MetricDefinitionError(`Member must be a valid regular expression (the inline flag (?${f}) has no JavaScript equivalent)`);
    }
    source = source.slice(inline[0].length);
  }
  if (/\(\?[aiLmsux-]+[:)]/.test(source)) {
    throw new MetricDefinitionError('Member must be a valid regular expression (inline flags are only supported at the start)');
  }
  return { source, flags };
}

/** The regex of one metric definition, ready to run over log lines; throws MetricDefinitionError when it cannot. */
export function compileMetricDefinition(definition: MetricDefinitionSpec): CompiledMetricDefinition {
  const { source, flags } = translatePythonRegex(definition.regex);
  try {
    return { name: definition.name, regex: new RegExp(source, flags), literal: requiredLiteral(source, flags) };
  } catch (e) {
    throw new MetricDefinitionError(`Member must be a valid regular expression (${(e as Error).message})`, { cause: e });
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
