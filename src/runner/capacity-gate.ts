import type { CapacityLedger, CapacityRequest } from './capacity-ledger.js';

export type { CapacityRequest };

/**
 * Runs wait (in CREATE_PENDING) while the host has no room for their limits, and start in the order they
 * came when it frees. One gate per runner: the runs of one process share one host; with a ledger, the
 * processes on one data folder share it too (another process frees room without telling us, so a waiting
 * gate asks the ledger again every `pollMs`).
 */
interface Waiter extends CapacityRequest {
  grant: (leaseId?: string) => void;
}

export class CapacityGate {
  private usedCpus = 0;
  private usedMemory = 0;
  private readonly queue: Waiter[] = [];
  private poll?: NodeJS.Timeout;

  constructor(
    private readonly capacity: CapacityRequest,
    private readonly ledger?: CapacityLedger,
    private readonly pollMs = 500,
  ) {}

  /** Resolves with a release function once the request fits; rejects if the signal aborts first. */
  acquire(request: CapacityRequest, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      let released = false;
      let lease: string | undefined;
      const release = () => {
        if (released) return;
        released = true;
        this.usedCpus -= request.cpus;
        this.usedMemory -= request.memoryBytes;
        if (lease) this.ledger?.release(lease);
        this.drain();
      };
      const waiter: Waiter = {
        ...request,
        grant: (leaseId) => {
          lease = leaseId;
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason ?? new Error('aborted'));
        this.drain();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.drain();
    });
  }

  get waiting(): number {
    return this.queue.length;
  }

  private fits(r: CapacityRequest): boolean {
    // An idle host always takes the next run: its limits are already scaled to the host.
    if (this.usedCpus === 0 && this.usedMemory === 0) return true;
    return this.usedCpus + r.cpus <= this.capacity.cpus && this.usedMemory + r.memoryBytes <= this.capacity.memoryBytes;
  }

  /** Strictly in order: a big run at the head is not overtaken by small ones behind it. */
  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!)) {
      const w = this.queue[0]!;
      let leaseId: string | undefined;
      if (this.ledger) {
        leaseId = this.ledger.tryAcquire(w, this.capacity);
        if (leaseId === undefined) break;
      }
      this.queue.shift();
      this.usedCpus += w.cpus;
      this.usedMemory += w.memoryBytes;
      w.grant(leaseId);
    }
    if (this.ledger && this.queue.length > 0) {
      this.poll ??= setInterval(() => this.drain(), this.pollMs);
      this.poll.unref();
    } else if (this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }
}
