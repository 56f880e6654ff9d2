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

export class LineOutput {
  private pending = '';
  private scheduled = false;
  private closed?: Error;
  /** Set while the stream's buffer is full: every line waits for it. */
  private full?: Promise<void>;
  /** The last write's completion: when it is flushed, all before it are. */
  private lastWrite: Promise<void> = Promise.resolve();

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

  private push(): Promise<void> | undefined {
    if (!this.pending || this.closed) return this.full;
    const chunk = this.pending;
    this.pending = '';
    let more = true;
    const written = new Promise<void>((resolve, reject) => {
      more = this.stream.write(chunk, (e) => {
        if (e) this.closed ??= e;
        if (e) reject(e);
        else resolve();
      });
    });
    written.catch(() => undefined);
    this.lastWrite = written;
    if (!more && !this.full) {
      this.full = this.drain(written).finally(() => (this.full = undefined));
      this.full.catch(() => undefined);
    }
    return this.full;
  }

  /** Until the stream takes more, or its reader has gone (an error, a close, or the write itself failing). */
  private drain(written: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (e?: unknown) => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', done);
        this.stream.off('close', onClose);
        if (e) reject(new OutputClosedError((e as Error).message));
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.closed ?? new Error('the output was closed'));
      this.stream.on('drain', onDrain);
      this.stream.on('error', done);
      this.stream.on('close', onClose);
      written.catch(done);
      if ((this.stream as { destroyed?: boolean }).destroyed) onClose();
    });
  }

  private throwIfClosed(): void {
    if (this.closed) throw new OutputClosedError(this.closed.message);
  }
}
