/**
 * Lines to stdout (or stderr) with backpressure. A pipe's reader may be slower than a run's million log lines:
 * `line()` waits while the stream's buffer is full, and `flushed()` resolves once every line has reached the
 * reader, so the process exits only then (process.exit drops what is still queued). Lines are joined into
 * chunks, written when a chunk fills or the printer pauses (one write per line would cost a syscall each).
 * When the reader goes away (`| head -3`), the next line throws OutputClosedError: the command stops quietly.
 */
export class OutputClosedError extends Error {
  override readonly name = 'OutputClosedError';
}

const CHUNK_CHARS = 64 * 1024;
/**
 * How much may wait in the stream  before a writer waits: about four pages of `crml logs`. Waiting only for an
 * empty stream (its 'drain') made the writer and a pipe's reader take turns, each idle while the other worked.
 */
const AHEAD_BYTES = 4 << 20;

export class LineOutput {
  private pending = '';
  private scheduled = false;
  private closed?: Error;
  /** Set while the stream's buffer is full: every line waits for it. */
  private full?: Promise<void>;
  /** The last write's completion: when it is flushed, all before it are. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** Writes not known to be done, oldest first. */
  private inFlight: { done: boolean; written: Promise<void> }[] = [];

  constructor(private readonly stream: NodeJS.WritableStream) {
    // A reader that went away (EPIPE) ends the output, it is not an error of the command.
    stream.on('error', (e: Error) => (this.closed ??= e));
  }

  /** Nothing to wait for (undefined) unless the reader is behind: then a promise to await before the next line. */
  line(text: string): Promise<void> | undefined {
    return this.write(`${text}\n`);
  }

  write(text: string): Promise<void> | undefined {
    if (this.full) return this.full.then(() => this.write(text));
    this.throwIfClosed();
    this.pending += text;
    if (this.pending.length >= CHUNK_CHARS) return this.push();
    if (!this.scheduled) {
      // Written once the printer pauses (the end of a page of lines, a poll while following).
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.push()?.catch(() => undefined);
      });
    }
    return undefined;
  }

  /** Resolves when every line written so far has been handed to the reader (or the reader has gone). */
  async flushed(): Promise<void> {
    if (this.full) await this.full.catch(() => undefined);
    await this.push()?.catch(() => undefined);
    await this.lastWrite.catch(() => undefined);
  }

  /** Bytes already formatted (a page of `crml logs`), after whatever lines are pending. */
  bytes(chunk: Buffer): Promise<void> | undefined {
    if (this.full) return this.full.then(() => this.bytes(chunk));
    this.throwIfClosed();
    this.push()?.catch(() => undefined);
    return this.send(chunk);
  }

  private push(): Promise<void> | undefined {
    if (!this.pending || this.closed) return this.full;
    const chunk = this.pending;
    this.pending = '';
    return this.send(chunk);
  }

  private send(chunk: string | Buffer): Promise<void> | undefined {
    if (this.closed) return this.full;
    const entry = { done: false, written: Promise.resolve() };
    entry.written = new Promise<void>((resolve, reject) => {
      this.stream.write(chunk, (e) => {
        entry.done = true;
        if (e) this.closed ??= e;
        if (e) reject(e);
        else resolve();
      });
    });
    entry.written.catch(() => undefined);
    this.lastWrite = entry.written;
    while (this.inFlight[0]?.done) this.inFlight.shift();
    this.inFlight.push(entry);
    if (this.queued() > AHEAD_BYTES && !this.full) {
      this.full = this.room().finally(() => (this.full = undefined));
      this.full.catch(() => undefined);
    }
    return this.full;
  }

  private queued(): number {
    return (this.stream as { writableLength?: number }).writableLength ?? 0;
  }

  /**
   * Until the stream holds at most half of AHEAD_BYTES, waiting for its oldest writes to be done (or failing
   * when the reader has gone): the next page is made while the reader takes the one before.
   */
  private async room(): Promise<void> {
    try {
      while (this.queued() > AHEAD_BYTES / 2 && this.inFlight.length > 0) await this.inFlight.shift()!.written;
    } catch (e) {
      throw new OutputClosedError((e as Error).message);
    }
    this.throwIfClosed();
  }

  private throwIfClosed(): void {
    if (this.closed) throw new OutputClosedError(this.closed.message);
  }
}
