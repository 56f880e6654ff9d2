import type { Logger } from 'pino';
import type { StopSignal } from './container-engine.js';
import { settledBy, stopGracefully } from './graceful-stop.js';
import type { StopReason } from './types.js';

export type { StopReason } from './types.js';

export interface StopControllerOptions {
  /** Sends a signal to every container of the run, or to every one but the host `except`. */
  kill: (signal: StopSignal, except?: string) => Promise<void>;
  gracePeriodMs: number;
  logger: Logger;
}

/**
 * Why and how a run is stopped. The first reason wins and is recorded once, so a deadline and a cancel never
 * blur; stopping is SIGTERM, then SIGKILL when the grace period runs out.
 */
export class StopController {
  private first?: { reason: StopReason; detail?: string };
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: (() => void)[] = [];
  /** Settled by dispose(), when the containers have exited: no SIGKILL after that. */
  private readonly ended = settledBy();

  constructor(private readonly opts: StopControllerOptions) {}

  get reason(): StopReason | undefined {
    return this.first?.reason;
  }

  get detail(): string | undefined {
    return this.first?.detail;
  }

  stop(reason: StopReason, detail?: string): void {
    if (this.first) return;
    this.first = { reason, detail };
    this.opts.logger.info({ reason, gracePeriodMs: this.opts.gracePeriodMs }, 'stopping the training containers');
    this.escalate();
  }

  /**
   * Stops every container but the host `except` (a cluster's failed instance), the same way. No reason is
   * recorded: the failed instance's exit is the run's outcome.
   */
  stopOthers(except: string): void {
    this.opts.logger.info({ except, gracePeriodMs: this.opts.gracePeriodMs }, 'stopping the other instances');
    this.escalate(except);
  }

  private escalate(except?: string): void {
    const { kill, gracePeriodMs, logger } = this.opts;
    void stopGracefully({
      term: () => kill('SIGTERM', except),
      kill: () => kill('SIGKILL', except),
      ended: this.ended.promise,
      gracePeriodMs,
      onError: (signal, e) => logger.warn({ err: e, except }, `${signal} failed`),
    });
  }

  /** Records a reason found once the containers have already ended (nothing left to signal); none when `detail` is undefined. */
  record(reason: StopReason, detail: string | undefined): void {
    if (this.first || detail === undefined) return;
    this.first = { reason, detail };
  }

  /** Stops with 'deadline' once `ms` have passed (at once when none are left). */
  armDeadline(ms: number): void {
    this.timers.push(setTimeout(() => this.stop('deadline'), Math.max(0, ms)));
  }

  /** Stops with 'cancel' when the signal aborts (at once when it already has). */
  watchSignal(signal: AbortSignal): void {
    const onAbort = () => this.stop('cancel');
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }

  /** Every `intervalMs`, asks `check` whether the run went over a limit; a message stops it with 'volume'. */
  watchVolume(check: () => Promise<string | undefined>, intervalMs: number): void {
    const timer = setInterval(() => {
      if (this.first) return;
      check()
        .then((message) => message && this.stop('volume', message))
        .catch(() => undefined);
    }, intervalMs);
    this.cleanups.push(() => clearInterval(timer));
  }

  /** Ends every timer and listener; the recorded reason stays. */
  dispose(): void {
    this.ended.settle();
    this.timers.forEach(clearTimeout);
    this.cleanups.forEach((c) => c());
  }
}
