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

  constructor(private readonly opts: LogFollowerOptions) {
    this.extractor = new MetricExtractor(opts.metricDefinitions);
    this.skip = { ...(opts.skipLines ?? { stdout: 0, stderr: 0 }) };
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
    for await (const chunk of stream) this.emit(name, splitter.push(chunk as Buffer), new Date());
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
