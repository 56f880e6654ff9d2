import type { Logger } from 'pino';
import type { StopSignal } from './container-engine.js';

export type StopReason = 'deadline' | 'cancel' | 'volume';

export interface StopControllerOptions {
  /** Sends a signal to every container of the run. */
  kill: (signal: StopSignal) => Promise<void>;
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
    const { kill, gracePeriodMs, logger } = this.opts;
    logger.info({ reason, gracePeriodMs }, 'stopping the training containers');
    void kill('SIGTERM').catch((e: unknown) => logger.warn({ err: e }, 'SIGTERM failed'));
    this.timers.push(setTimeout(() => void kill('SIGKILL').catch((e: unknown) => logger.warn({ err: e }, 'SIGKILL failed')), gracePeriodMs));
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
    this.timers.forEach(clearTimeout);
    this.cleanups.forEach((c) => c());
  }
}
