import type { TrainedModelLogLine } from '../api/operations/trained-model-observability.js';

export interface LogExcerptLine {
  time: string;
  host: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface LogExcerpt {
  /** How many lines the run printed in all. */
  totalLines: number;
  /** The last lines of the run, every stream. */
  tail: LogExcerptLine[];
  /** For a failed run: the last stderr lines, where an algorithm says why it failed. Empty otherwise. */
  stderrNearFailure: LogExcerptLine[];
}

/** A line longer than this is cut: a report is for reading, and one line must not carry megabytes into it. */
const MAX_LINE_CHARS = 2000;

/** Keeps the last `size` items of a stream in constant memory. */
class Tail<T> {
  private readonly items: T[] = [];
  constructor(private readonly size: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
  }
  toArray(): T[] {
    return [...this.items];
  }
}

/**
 * Reads a run's whole log once, a page at a time from the store, keeping only the excerpt: the tail, and for a
 * failed run the last stderr lines (the failure is at the end of a run, so these are the lines near it).
 */
export async function logExcerpt(
  lines: AsyncIterable<TrainedModelLogLine>,
  opts: { failed: boolean; tailLines?: number; stderrLines?: number },
): Promise<LogExcerpt> {
  const tail = new Tail<LogExcerptLine>(opts.tailLines ?? 100);
  const stderr = new Tail<LogExcerptLine>(opts.stderrLines ?? 40);
  let totalLines = 0;
  for await (const l of lines) {
    totalLines++;
    const line: LogExcerptLine = {
      time: l.time.toISOString(),
      host: l.host,
      stream: l.stream,
      text: l.text.length > MAX_LINE_CHARS ? `${l.text.slice(0, MAX_LINE_CHARS)}… (cut)` : l.text,
    };
    tail.push(line);
    if (opts.failed && l.stream === 'stderr') stderr.push(line);
  }
  return { totalLines, tail: tail.toArray(), stderrNearFailure: stderr.toArray() };
}
