import type { Readable } from 'node:stream';
import type { ContainerLogs } from './container-engine.js';
import { LogLineSplitter } from './log-line-splitter.js';
import { MetricExtractor } from './metric-extractor.js';
import type { MetricDefinitionSpec, RunEvents } from './types.js';

export interface LogFollowerOptions {
  events: Pick<RunEvents, 'onLogLine' | 'onMetric'>;
  host: string;
  metricDefinitions: readonly MetricDefinitionSpec[];
  /** Lines already delivered per stream (a re-attached run: the engine replays the whole log). */
  skipLines?: { stdout: number; stderr: number };
  /** How many of the last stderr lines to keep for a failure message. */
  stderrTailLines?: number;
}

/**
 * Turns one container's demultiplexed output into lines (stamped with the time their last chunk arrived),
 * delivers each to the run's events, and runs every metric definition over it.
 */
export class LogFollower {
  private readonly extractor: MetricExtractor;
  private readonly tail: string[] = [];
  private readonly skip: { stdout: number; stderr: number };
  /** Chunks read so far: how a caller tells a stream that lags from one that stalled. */
  private chunks = 0;

  constructor(private readonly opts: LogFollowerOptions) {
    this.extractor = new MetricExtractor(opts.metricDefinitions);
    this.skip = { ...(opts.skipLines ?? { stdout: 0, stderr: 0 }) };
  }

  /** How many chunks of output this follower has read so far. */
  get progress(): number {
    return this.chunks;
  }

  /** The last lines of stderr seen so far. */
  get stderrTail(): readonly string[] {
    return this.tail;
  }

  /** Resolves when both streams have ended and every line was delivered. */
  async follow(logs: ContainerLogs): Promise<void> {
    await Promise.all([this.consume(logs.stdout, 'stdout'), this.consume(logs.stderr, 'stderr'), logs.done.catch(() => undefined)]);
  }

  private async consume(stream: Readable, name: 'stdout' | 'stderr'): Promise<void> {
    const splitter = new LogLineSplitter();
    // Pulling chunk by chunk is the backpressure: the demuxer waits while this loop is busy.
    for await (const chunk of stream) {
      this.chunks += 1;
      this.emit(name, splitter.push(chunk as Buffer), new Date());
    }
    this.emit(name, splitter.end(), new Date());
  }

  private emit(stream: 'stdout' | 'stderr', lines: string[], time: Date): void {
    const { events, host } = this.opts;
    const keep = this.opts.stderrTailLines ?? 10;
    for (const text of lines) {
      if (this.skip[stream] > 0) {
        this.skip[stream] -= 1;
        continue;
      }
      events.onLogLine({ time, stream, host, text });
      if (stream === 'stderr') {
        this.tail.push(text);
        if (this.tail.length > keep) this.tail.shift();
      }
      for (const p of this.extractor.extract(text)) events.onMetric({ ...p, time, host });
    }
  }
}

/** How long an ended container's log stream may deliver nothing before the run goes on without it. */
export const LOG_DRAIN_MS = 10_000;

/**
 * Waits for the log streams of ended containers to end. A stream that still delivers is waited for however long
 * it lags (under load, or with millions of lines, the reader may be far behind the exit: every line is kept);
 * only one that delivers nothing for `quietMs` is given up on. Resolves false then.
 */
export async function drainLogs(done: Promise<unknown>, followers: readonly LogFollower[], quietMs: number): Promise<boolean> {
  const total = () => followers.reduce((n, f) => n + f.progress, 0);
  const ended = done.then(() => true);
  for (;;) {
    const before = total();
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), quietMs)));
    const finished = await Promise.race([ended, quiet]).finally(() => clearTimeout(timer));
    if (finished) return true;
    if (total() === before) return false;
  }
}
