import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Which store this is (from its data folder), on every container of its runs: which containers are its to reconcile. */
export function storeIdOf(dataDir: string): string {
  return createHash('sha256').update(join(dataDir)).digest('hex').slice(0, 16);
}

const CANCEL_POLL_MS = 500;

/**
 * The runs of this process, by key, each with its abort: a coordinator's bookkeeping. A cancel may come from
 * another process (the CLI while the server runs it), so while any run is here the store is polled through
 * `cancelRequested` and such a run is aborted.
 */
export class ActiveRuns {
  private readonly runs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private cancelWatch: NodeJS.Timeout | undefined;

  constructor(private readonly cancelRequested: (key: string) => boolean) {}

  /** Runs `execute` under key `key` until it settles. */
  launch(key: string, execute: (signal: AbortSignal) => Promise<void>): void {
    const abort = new AbortController();
    const done = execute(abort.signal).finally(() => {
      this.runs.delete(key);
      if (this.runs.size === 0 && this.cancelWatch) {
        clearInterval(this.cancelWatch);
        this.cancelWatch = undefined;
      }
    });
    this.runs.set(key, { abort, done });
    this.cancelWatch ??= setInterval(() => this.pollCancels(), CANCEL_POLL_MS);
    this.cancelWatch.unref();
  }

  has(key: string): boolean {
    return this.runs.has(key);
  }

  /** Aborts the run of `key`; false when it is not here. */
  abort(key: string): boolean {
    const run = this.runs.get(key);
    if (!run) return false;
    run.abort.abort();
    return true;
  }

  /** Resolves when the run of `key` (or every run, without it) has settled. */
  async idle(key?: string): Promise<void> {
    if (key !== undefined) {
      await this.runs.get(key)?.done;
      return;
    }
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((r) => r.done));
  }

  private pollCancels(): void {
    for (const [key, run] of this.runs) {
      if (!run.abort.signal.aborted && this.cancelRequested(key)) run.abort.abort();
    }
  }
}
