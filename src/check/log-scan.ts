import type { LogLineMatcher } from './check-case.js';

export interface LogLine {
  host: string;
  stream: string;
  text: string;
}

/** A line in the tail is cut here: a container may print lines of 256 KiB, and the report is read by people. */
export const TAIL_LINE_CHARS = 4096;

export interface LogScan {
  /** The patterns no line matched. */
  unmatched: LogLineMatcher[];
  /** The last lines, `host stream text`, oldest first. */
  tail: string[];
  lineCount: number;
}

export function describeMatcher(m: LogLineMatcher): string {
  return m.kind === 'regex' ? `/${m.source}/` : JSON.stringify(m.text);
}

/**
 * Reads a run's lines once, as they come: each pattern is tried until it has matched, and only the last
 * `tailLines` lines are kept, so a run of millions of lines costs no more memory than one of ten.
 */
export async function scanLogLines(lines: AsyncIterable<LogLine>, matchers: readonly LogLineMatcher[], tailLines: number): Promise<LogScan> {
  let pending = [...matchers];
  const tail: string[] = [];
  let lineCount = 0;
  for await (const l of lines) {
    lineCount++;
    if (pending.length > 0) pending = pending.filter((m) => !(m.kind === 'regex' ? m.regex.test(l.text) : l.text.includes(m.text)));
    const text = l.text.length > TAIL_LINE_CHARS ? `${l.text.slice(0, TAIL_LINE_CHARS)}… (${l.text.length - TAIL_LINE_CHARS} more characters)` : l.text;
    tail.push(`${l.host} ${l.stream} ${text}`);
    if (tail.length > tailLines) tail.shift();
  }
  return { unmatched: pending, tail, lineCount };
}
