import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

/** deflate's window: each block is primed with this much of the one before, so the ratio stays gzip's. */
const WINDOW = 32 * 1024;
/** Blocks of 2 MiB: large enough that priming and the sync flush cost nothing, small enough to keep memory flat. */
const DEFAULT_BLOCK_BYTES = 2 << 20;

export interface ParallelGzipOptions {
  level: number;
  blockBytes?: number;
  /** Blocks compressed at once (each on a thread of the pool); two at least, at most four. */
  concurrency?: number;
}

type Crc32 = (data: Uint8Array, value?: number) => number;
const crc32 = (zlib as { crc32?: Crc32 }).crc32;

/**
 * gzip on several threads of the pool at once, as pigz does: the input in blocks, each compressed as raw deflate
 * primed with the last 32 KiB of the block before it and ended on a byte boundary (a sync flush; the last one
 * finishes the stream), written in order inside one gzip member (header, the blocks, CRC-32 and length). One
 * member and one deflate stream: every gunzip reads it as gzip's own, streaming ones too (Python's tarfile in
 * `r|gz` reads only a first member). A large model compresses on every core instead of one (gzip is most of its
 * packaging time). At most `concurrency` blocks are in flight: backpressure holds and memory stays flat. Where
 * Node has no zlib.crc32 (before 20.15), this is zlib's own gzip stream.
 */
export function parallelGzip(opts: ParallelGzipOptions): Transform {
  if (!crc32) return zlib.createGzip({ level: opts.level, chunkSize: 256 * 1024 });
  return new ParallelGzip(opts, crc32);
}

class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockBytes: number;
  private readonly concurrency: number;
  private parts: Buffer[] = [];
  private size = 0;
  private previous?: Buffer;
  private crc = 0;
  private length = 0;
  private readonly inFlight: Promise<Buffer>[] = [];

  constructor(opts: ParallelGzipOptions, private readonly crc32: Crc32) {
    super();
    this.level = opts.level;
    this.blockBytes = opts.blockBytes ?? DEFAULT_BLOCK_BYTES;
    this.concurrency = opts.concurrency ?? Math.max(2, Math.min(4, availableParallelism()));
    // The member's header as zlib writes it: deflate, no name, no time, this system (3: Unix).
    this.push(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size < this.blockBytes) return callback();
    this.dispatch(false);
    this.drainTo(this.concurrency - 1).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.dispatch(true);
    this.drainTo(0).then(() => {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.length % 2 ** 32, 4);
      callback(null, trailer);
    }, callback);
  }

  /** Starts compressing the gathered block; its CRC and length are taken here, in order. */
  private dispatch(last: boolean): void {
    const block = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.crc = this.crc32(block, this.crc);
    this.length += block.length;
    const dictionary = this.previous ? this.previous.subarray(Math.max(0, this.previous.length - WINDOW)) : undefined;
    this.previous = block;
    const options: zlib.ZlibOptions = {
      level: this.level,
      // Output in pieces of 256 KiB, not 16: an incompressible block goes through the pool in a few trips.
      chunkSize: 256 * 1024,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      ...(dictionary && dictionary.length > 0 ? { dictionary } : {}),
    };
    const compressed = new Promise<Buffer>((resolve, reject) => zlib.deflateRaw(block, options, (e, out) => (e ? reject(e) : resolve(out))));
    // Rejections are taken in order by drainTo; this keeps an early one from counting as unhandled meanwhile.
    compressed.catch(() => undefined);
    this.inFlight.push(compressed);
  }

  /** Pushes finished blocks, oldest first, until at most `left` are in flight. */
  private async drainTo(left: number): Promise<void> {
    while (this.inFlight.length > left) this.push(await this.inFlight.shift()!);
  }
}
