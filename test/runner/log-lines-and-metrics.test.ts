import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { LogLineSplitter, MAX_LINE_CHARS } from '../../src/runner/log-line-splitter.js';
import { demuxLogStream } from '../../src/runner/log-demuxer.js';
import { compileMetricDefinition, extractMetrics, MetricDefinitionError, parseMetricValue, requiredLiteral } from '../../src/runner/metric-definition.js';
import { classifyExit } from '../../src/runner/run-outcome.js';
import { engineFrame } from '../helpers/job-spec.js';

function split(chunks: (string | Buffer)[]): string[] {
  const s = new LogLineSplitter();
  const out = chunks.flatMap((c) => s.push(typeof c === 'string' ? Buffer.from(c) : c));
  return [...out, ...s.end()];
}

describe('log lines', () => {
  it('joins partial lines across chunks and ends lines at \\n, \\r\\n and a lone \\r', () => {
    expect(split(['a', 'b\nc', 'd\r', '\ne\rf\n', 'tail'])).toEqual(['ab', 'cd', 'e', 'f', 'tail']);
  });

  it('decodes a multi-byte character split across chunks, and turns invalid UTF-8 into U+FFFD', () => {
    const euro = Buffer.from('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1)])).toEqual(['€']);
    expect(split([Buffer.from([0x61, 0xff, 0x62, 0x0a])])).toEqual(['a\uFFFDb']);
  });

  it('cuts a very long line instead of holding it without bound', () => {
    const lines = split(['x'.repeat(MAX_LINE_CHARS * 2 + 5), '\n']);
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, 5]);
  });
});

describe('log demultiplexing', () => {
  const frame = engineFrame;

  it('splits the engine stream into stdout and stderr, frames cut anywhere', async () => {
    const all = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    const chunks = [all.subarray(0, 3), all.subarray(3, 17), all.subarray(17)];
    const { stdout, stderr, done } = demuxLogStream(Readable.from(chunks));
    const read = async (r: Readable) => Buffer.concat(await r.toArray()).toString();
    const [o, e] = await Promise.all([read(stdout), read(stderr), done]);
    expect([o, e]).toEqual(['out 1\nout 2\n', 'err 1\n']);
  });
});

describe('metric definitions', () => {
  it('translate Python named groups and anchors, and take group 1 or the whole match', () => {
    const defs = [
      compileMetricDefinition({ name: 'loss', regex: 'loss=(?P<loss>[0-9.e-]+)' }),
      compileMetricDefinition({ name: 'whole', regex: '\\A[0-9.]+\\Z' }),
      compileMetricDefinition({ name: 'acc', regex: '(?i)ACC: ([0-9.]+)' }),
    ];
    expect(extractMetrics(defs, 'loss=1e-3 acc: 0.5')).toEqual([{ name: 'loss', value: 0.001 }, { name: 'acc', value: 0.5 }]);
    expect(extractMetrics(defs, '42.5')).toEqual([{ name: 'whole', value: 42.5 }]);
    expect(extractMetrics(defs, 'loss=nan')).toEqual([]);
  });

  it('refuse what cannot compile, with a message for the API', () => {
    expect(() => compileMetricDefinition({ name: 'bad', regex: 'loss=(' })).toThrow(MetricDefinitionError);
    expect(() => compileMetricDefinition({ name: 'bad', regex: 'loss=(' })).toThrow(/^Member must be a valid regular expression/);
    expect(() => compileMetricDefinition({ name: 'bad', regex: '(?x)a b' })).toThrow(/\(\?x\) has no RE2 equivalent/);
    expect(() => compileMetricDefinition({ name: 'bad', regex: 'a(?i)b' })).toThrow(/only supported at the start/);
  });

  it('refuse, by name, what only a backtracking engine can run', () => {
    const refused = (regex: string) => () => compileMetricDefinition({ name: 'm', regex });
    expect(refused(String.raw`(\d)\1`)).toThrow(
      String.raw`Member must be a regular expression without backreferences or lookaround (the backreference \1 is not supported`,
    );
    expect(refused(String.raw`(?P<v>\d)(?P=v)`)).toThrow(/the backreference \(\?P= is not supported/);
    expect(refused(String.raw`loss=(?=\d)(\d+)`)).toThrow(/the lookahead \(\?= is not supported/);
    expect(refused(String.raw`(?<!val_)loss=(\d+)`)).toThrow(/the lookbehind \(\?<! is not supported/);
    expect(refused('(?>a+)')).toThrow(/atomic group/);
    expect(refused(String.raw`loss=\d++`)).toThrow(/the possessive quantifier \+\+ is not supported/);
    // Escaped, in a class or quoted, the same characters are literals.
    for (const regex of [String.raw`loss\(?=(\d+)`, '[(?=]x', String.raw`\\1`, String.raw`\Q(?=\E`, String.raw`c\++`]) {
      expect(refused(regex)).not.toThrow();
    }
  });

  it('run in time linear in the line: a regex that backtracks exponentially in Python or JavaScript does not stall', () => {
    const defs = [compileMetricDefinition({ name: 'nested', regex: '(a+)+$' }), compileMetricDefinition({ name: 'alt', regex: '(a|a)*b' })];
    const t0 = performance.now();
    // 28 characters took a backtracking engine 10-23 s; a long line as little as a short one here.
    expect(extractMetrics(defs, `${'a'.repeat(28)}!`)).toEqual([]);
    expect(extractMetrics(defs, `${'a'.repeat(100_000)}!`)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('keep Python semantics: scoped flags, comments, \\Z, and . matching a carriage return', () => {
    const defs = [
      compileMetricDefinition({ name: 'acc', regex: '(?i:acc)=(?#the value)([0-9.]+)\\Z' }),
      compileMetricDefinition({ name: 'cr', regex: 'cr=(.)' }),
      compileMetricDefinition({ name: 'ascii', regex: '(?a)n=(\\d+)' }),
    ];
    expect(extractMetrics(defs, 'ACC=0.75')).toEqual([{ name: 'acc', value: 0.75 }]);
    expect(extractMetrics(defs, 'ACC=0.75 more')).toEqual([]);
    expect(extractMetrics(defs, 'n=12')).toEqual([{ name: 'ascii', value: 12 }]);
    expect(compileMetricDefinition({ name: 'cr', regex: 'cr=(.)' }).regex.exec('cr=\r')?.[1]).toBe('\r');
  });

  it('parse values as decimal numbers only', () => {
    expect(['1', '-2.5', '.5', '3.', '1e3', ' 7 '].map(parseMetricValue)).toEqual([1, -2.5, 0.5, 3, 1000, 7]);
    expect(['', 'nan', 'inf', '0x10', '1.2.3', 'epoch=1', '12abc'].map(parseMetricValue)).toEqual(Array(7).fill(undefined));
  });
});

describe('how an ended container is reported', () => {
  const base = { instanceType: 'ml.m5.large', maxRuntimeInSeconds: 60, exitCode: 0, oomKilled: false, stderrTail: [] };
  it('lets the first stop reason win over the exit code', () => {
    expect(classifyExit({ ...base, stopReason: 'deadline', exitCode: 137 })).toMatchObject({ statusCode: 'MAX_RUNTIME_EXCEEDED' });
    expect(classifyExit({ ...base, stopReason: 'cancel', exitCode: 143 })).toMatchObject({ statusCode: 'CANCELLED' });
    expect(classifyExit({ ...base, exitCode: 137, oomKilled: true })).toMatchObject({ statusCode: 'OUT_OF_MEMORY' });
    expect(classifyExit(base)).toEqual({ succeeded: true });
    expect(classifyExit({ ...base, exitCode: 2, failureText: 'x'.repeat(2000) }).message).toHaveLength(1024);
  });
});

describe('the literal prefilter of metric definitions', () => {
  it('skips lines that cannot match without changing what matches', () => {
    expect(requiredLiteral('train_loss=([0-9.]+)', '')).toBe('train_loss=');
    expect(requiredLiteral('^loss: (\\d+)', '')).toBe('loss: ');
    expect(requiredLiteral('losss?=(\\d+)', '')).toBe('loss');
    expect(requiredLiteral('a|b', '')).toBeUndefined();
    expect(requiredLiteral('loss=(\\d+)', 'i')).toBeUndefined();
    expect(requiredLiteral('(\\d+) loss', '')).toBeUndefined();
    const defs = [compileMetricDefinition({ name: 'l', regex: 'loss=([0-9.]+)' }), compileMetricDefinition({ name: 'e', regex: 'epochs?=(\\d+)' })];
    expect(extractMetrics(defs, 'epoch=3 loss=0.5')).toEqual([{ name: 'l', value: 0.5 }, { name: 'e', value: 3 }]);
    expect(extractMetrics(defs, 'nothing here')).toEqual([]);
  });
});
