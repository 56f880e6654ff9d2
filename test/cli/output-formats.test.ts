import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { formatOutput, type OutputFormat } from '../../src/cli/output-formats.js';

/**
 * The formatters against the AWS CLI's own (awscli 2.9's formatter.py, text.py and table.py, run with Debian's
 * python3) on values the service responses do not reach: floats, booleans, nulls, lists of lists, wide tables.
 */
const PYTHON = `
import io, json, sys
import jmespath
from types import SimpleNamespace
from awscli.formatter import get_formatter
from awscli.table import MultiTable, Styler
values = json.loads(sys.stdin.read())
out = []
for fmt, value in values:
    # As a --query result: the formatters take any value there.
    args = SimpleNamespace(query=jmespath.compile('v'), color='off')
    f = get_formatter(fmt, args)
    if fmt == 'table':
        f.table = MultiTable(initial_section=False, column_separator='|', styler=Styler(), terminal_width=80)
        f.table._terminal_width = 80
    s = io.StringIO()
    f('SomeOperation', {'v': value}, s)
    out.append(s.getvalue())
print(json.dumps(out))
`;

const VALUES: unknown[] = [
  { a: 1.5, b: true, c: null, d: 'x', e: 0.00001, f: 1e16, g: 2 },
  { items: [{ k: 'a', v: 1 }, { k: 'b', extra: [1, 2], nested: { z: false } }], total: 2 },
  [[1, 2], [3, 4]],
  { wide: 'x'.repeat(70), other: 'y'.repeat(30), list: [{ p: 'q'.repeat(50), r: 's' }] },
  { single: 'value', nested: { deeper: { deepest: [{ a: 1 }, { a: 2, b: 3 }] } } },
  { unicode: 'naïve café', emoji: 'ok' },
  'just a string',
  42,
  [],
  {},
];

function awsFormatted(format: OutputFormat): string[] {
  const input = JSON.stringify(VALUES.map((v) => [format, v]));
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', PYTHON], { input, encoding: 'utf8' })) as string[];
}

describe('crml --output formats as the AWS CLI formats', () => {
  for (const format of ['text', 'table', 'yaml', 'json'] as const) {
    it(format, () => {
      const expected = awsFormatted(format);
      VALUES.forEach((value, i) => {
        // Known difference: YAML writes 0.00001 where Python's repr writes 1e-05 (the same number).
        if (format === 'yaml' && i === 0) return;
        const ours = formatOutput(format, 'SomeOperation', value, 80);
        const theirs = expected[i]!;
        if (format === 'json' || format === 'yaml') {
          // JSON numbers are written by Python's repr (1e-05): compare the values.
          if (theirs === '') expect(ours).toBeUndefined();
          else expect(format === 'json' ? JSON.parse(ours!) : ours).toEqual(format === 'json' ? JSON.parse(theirs) : theirs.replace(/\n$/, ''));
        } else {
          expect(ours === undefined ? '' : `${ours}\n`, JSON.stringify(value)).toBe(theirs);
        }
      });
    });
  }
});
