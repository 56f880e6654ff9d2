/** What stopping one thing takes: a polite signal, a forced one, and a way to know it has ended. */
export interface GracefulStop {
  /** Asks it to stop (SIGTERM). */
  term: () => Promise<void> | void;
  /** Forces it (SIGKILL). */
  kill: () => Promise<void> | void;
  /** Settles once it has ended (or its caller no longer cares): no SIGKILL is sent after that. */
  ended: Promise<unknown>;
  /** How long it gets between the two. */
  gracePeriodMs: number;
  /** A signal that could not be sent; by default ignored (the thing may have ended meanwhile). */
  onError?: (signal: 'SIGTERM' | 'SIGKILL', error: unknown) => void;
}

/**
 * SIGTERM, then SIGKILL when the grace period runs out before `ended` settles: the one escalation, for a run's
 * containers (deadline, cancel, a cluster's failing peer) and for a child process alike. Resolves once `ended`
 * has settled or SIGKILL has been sent.
 */
export async function stopGracefully(s: GracefulStop): Promise<void> {
  const send = async (signal: 'SIGTERM' | 'SIGKILL', f: () => Promise<void> | void) => {
    try {
      await f();
    } catch (e) {
      s.onError?.(signal, e);
    }
  };
  // The grace period counts from the request, not from the engine's answer to it.
  void send('SIGTERM', s.term);
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), s.gracePeriodMs);
  });
  const late = await Promise.race([s.ended.then(() => false, () => false), graceOver]);
  clearTimeout(timer);
  if (late) await send('SIGKILL', s.kill);
}

/** A promise and the function that settles it: what "ended" is for something that reports its end by a callback. */
export function settledBy(): { promise: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const promise = new Promise<void>((resolve) => (settle = resolve));
  return { promise, settle };
}
