import { execFile } from 'node:child_process';
import { constants, createReadStream, openSync } from 'node:fs';
import { mkdir, rm, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { ChannelFile } from './channel-shards.js';

const run = promisify(execFile);
/** How often a FIFO is tried for a reader: cheap, and short next to any container's start. */
const READER_POLL_MS = 20;

export interface PipeChannel {
  channelName: string;
  /** This host's files of the channel, in the order they are streamed. */
  files: ChannelFile[];
}

export interface PipeFeederOptions {
  /** The host folder that is bind-mounted (read-only) at /opt/ml/input/data in this host's container. */
  dir: string;
  channels: PipeChannel[];
  /** Channels delivered as folders in the same container (an incremental model): their mount points. */
  mountPoints: string[];
  log: Logger;
}

/**
 * SageMaker's Pipe mode for one container. Each channel is a FIFO /opt/ml/input/data/<channel>_<epoch> that
 * streams the channel's files back to back, byte for byte. Once the algorithm has read one to its end and closed
 * it, it is removed and the next epoch's FIFO appears, for as long as the run lasts. The data goes from disk to the
 * FIFO in chunks with backpressure, never whole into memory.
 */
export class PipeFeeder {
  private readonly stop = new AbortController();
  private feeding: Promise<void> | undefined;

  constructor(private readonly o: PipeFeederOptions) {}

  /** The folder, the other channels' mount points and every channel's epoch-0 FIFO, before the container starts. */
  async prepare(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    for (const m of this.o.mountPoints) await mkdir(join(this.o.dir, m), { recursive: true });
    for (const c of this.o.channels) await mkfifo(this.fifo(c.channelName, 0));
  }

  /** Starts feeding every channel; runs until close(). */
  start(): void {
    this.feeding ??= Promise.all(this.o.channels.map((c) => this.feed(c))).then(() => undefined);
  }

  /** Stops feeding and removes the folder (the container has ended). */
  async close(): Promise<void> {
    this.stop.abort();
    await this.feeding;
    await rm(this.o.dir, { recursive: true, force: true });
  }

  private fifo(channelName: string, epoch: number): string {
    return join(this.o.dir, `${channelName}_${epoch}`);
  }

  private async feed(channel: PipeChannel): Promise<void> {
    const signal = this.stop.signal;
    for (let epoch = 0; !signal.aborted; epoch++) {
      const path = this.fifo(channel.channelName, epoch);
      try {
        if (epoch > 0) await mkfifo(path);
        const fd = await openForWriting(path, signal);
        if (fd === undefined) return;
        const bytes = await writeFiles(fd, channel.files, signal);
        this.o.log.debug({ channel: channel.channelName, epoch, bytes }, 'pipe mode: epoch streamed');
        await unlink(path);
      } catch (e) {
        if (signal.aborted) return;
        // The algorithm closed the FIFO before its end: its choice; the next epoch still comes.
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
          this.o.log.debug({ channel: channel.channelName, epoch }, 'pipe mode: the reader closed the FIFO early');
          await unlink(path).catch(() => undefined);
          continue;
        }
        this.o.log.error({ err: e, channel: channel.channelName, epoch }, 'pipe mode: feeding the FIFO failed');
        return;
      }
    }
  }
}

async function mkfifo(path: string): Promise<void> {
  // Node has no mkfifo; coreutils' is on every Linux host. Readable by any user the image may run as.
  await run('mkfifo', ['-m', '0644', path]);
}

/**
 * Opens a FIFO for writing once a reader has it open. A non-blocking open fails with ENXIO until then; a blocking
 * one would hold one of libuv's few threads for as long as the algorithm takes to get there.
 */
async function openForWriting(path: string, signal: AbortSignal): Promise<number | undefined> {
  while (!signal.aborted) {
    try {
      // A non-blocking open returns at once; a plain descriptor, since the socket below owns and closes it.
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
    }
    await new Promise((r) => setTimeout(r, READER_POLL_MS));
  }
  return undefined;
}

/** Streams the files into the FIFO in order, then closes it: the reader sees EOF. Returns the bytes written. */
async function writeFiles(fd: number, files: readonly ChannelFile[], signal: AbortSignal): Promise<number> {
  // A socket over the FIFO's descriptor: non-blocking writes with 'drain', as for process.stdout on a pipe.
  const pipe = new Socket({ fd, readable: false, writable: true });
  let bytes = 0;
  const failed = new Promise<never>((_, reject) => pipe.once('error', reject));
  failed.catch(() => undefined);
  try {
    for (const f of files) {
      for await (const chunk of createReadStream(f.hostPath, { signal })) {
        bytes += (chunk as Buffer).length;
        if (!pipe.write(chunk)) await Promise.race([once(pipe, 'drain'), failed]);
      }
    }
    pipe.end();
    await Promise.race([once(pipe, 'finish'), failed]);
    return bytes;
  } finally {
    pipe.destroy();
  }
}
