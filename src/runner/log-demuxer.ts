import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const HEADER = 8;

/**
 * Splits the engine's multiplexed log stream (8-byte frame headers: stream type, then payload size) into
 * stdout and stderr. Unlike dockerode's demuxStream it honours backpressure: the engine stream is not read
 * further while a consumer is behind.
 */
export function demuxLogStream(raw: Readable): { stdout: PassThrough; stderr: PassThrough; done: Promise<void> } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let pending: Buffer = Buffer.alloc(0);
  const behind = new Set<PassThrough>();

  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const waits: Promise<void>[] = [];
      while (pending.length >= HEADER) {
        const size = pending.readUInt32BE(4);
        if (pending.length < HEADER + size) break;
        const type = pending[0];
        const payload = pending.subarray(HEADER, HEADER + size);
        pending = pending.subarray(HEADER + size);
        // Type 1 is stdout, 2 stderr; 0 (stdin echo) never occurs without a TTY and is dropped.
        const target = type === 2 ? stderr : type === 1 ? stdout : undefined;
        // One wait per stream that is behind, however many frames this chunk held for it.
        if (target && payload.length > 0 && !target.write(payload) && !behind.has(target)) {
          behind.add(target);
          waits.push(new Promise((resolve) => target.once('drain', resolve)));
        }
      }
      behind.clear();
      if (waits.length === 0) callback();
      else void Promise.all(waits).then(() => callback());
    },
    final(callback) {
      stdout.end();
      stderr.end();
      callback();
    },
  });

  const done = pipeline(raw, sink).catch((e: unknown) => {
    // The engine closing a follow stream early is not the consumer's problem: what arrived is kept.
    stdout.end();
    stderr.end();
    if ((e as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
  });
  return { stdout, stderr, done };
}
