import { ValidationException } from './generated/errors.js';

/**
 * Metric definitions are SageMaker regexes (Python `re` syntax). JavaScript reads most of it as is;
 * what differs is translated: named groups `(?P<name>…)` and back-references `(?P=name)`, and global
 * inline flags at the start (`(?i)`, `(?s)`, `(?m)`, `(?x)` is refused: no JS equivalent).
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

/** A regex that will not compile is refused at CreateConfiguredModelAlgorithm (contract §7). */
export function assertMetricDefinitions(defs: readonly { name: string; regex: string }[]): void {
  defs.forEach((d, i) => {
    try {
      compileMetricRegex(d.regex);
    } catch (e) {
      throw new ValidationException(
        `1 validation error detected: Value '${d.regex}' at 'trainingContainerConfig.metricDefinitions.${i + 1}.member.regex' failed to satisfy constraint: ${(e as Error).message}`,
      );
    }
  });
}
