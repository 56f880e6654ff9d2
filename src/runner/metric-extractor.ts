import type { MetricDefinitionSpec } from './types.js';

/**
 * Metric definitions are SageMaker regexes (Python `re` syntax). JavaScript reads most of it as is;
 * what differs is translated: named groups `(?P<name>…)`, back-references `(?P=name)`, and global inline
 * flags at the start (`(?i)`, `(?m)`, `(?s)`); flags with no JavaScript equivalent are refused.
 */
export function compileMetricRegex(regex: string): RegExp {
  let source = regex.replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>');
  let flags = '';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    for (const f of inline[1]!) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
      else if (f !== 'a' && f !== 'u') throw new Error(`the inline flag (?${f}) has no JavaScript equivalent`);
    }
    source = source.slice(inline[0].length);
  }
  if (/\(\?[aiLmsux-]+[:)]/.test(source)) throw new Error('inline flags are only supported at the start of the regex');
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw new Error(`Member must be a valid regular expression (${(e as Error).message})`);
  }
}

interface CompiledDefinition {
  name: string;
  regex: RegExp;
}

/** Runs every definition over each line: each match is one data point (group 1, or the whole match). */
export class MetricExtractor {
  private readonly definitions: CompiledDefinition[];

  constructor(definitions: readonly MetricDefinitionSpec[]) {
    this.definitions = definitions.map((d) => ({ name: d.name, regex: compileMetricRegex(d.regex) }));
  }

  get empty(): boolean {
    return this.definitions.length === 0;
  }

  extract(line: string): { name: string; value: number }[] {
    const points: { name: string; value: number }[] = [];
    for (const d of this.definitions) {
      const m = d.regex.exec(line);
      if (!m) continue;
      const value = Number.parseFloat(m.length > 1 && m[1] !== undefined ? m[1] : m[0]);
      if (Number.isFinite(value)) points.push({ name: d.name, value });
    }
    return points;
  }
}
