import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

const gzipBlock = promisify(gzip);

/** Input per gzip member: large enough that restarting the dictionary costs nothing measurable. */
const BLOCK_BYTES = 4 << 20;

/**
 * gzip over `concurrency` threads of the pool: the input is cut into blocks, each compressed on its own as a gzip
 * member, and the members are written in order. Concatenated members are one valid gzip file (RFC 1952 §2.2):
 * gunzip, tar, Python's gzip and tarfile (what SageMaker opens model.tar.gz with) and Node's zlib read them as one
 * stream. On one thread, gzip set the pace of packaging a large model; this is pigz's approach. At most
 * `concurrency` blocks are in compression and one is being filled: memory stays flat.
 */
export function parallelGzip(opts: { level: number; concurrency: number }) {
  const concurrency = Math.max(1, opts.concurrency);
  return async function* compress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const pending: Promise<Buffer>[] = [];
    let parts: Buffer[] = [];
    let size = 0;
    let members = 0;
    const seal = () => {
      const block = gzipBlock(Buffer.concat(parts, size), { level: opts.level });
      // Awaited in order below; a failure while an earlier member is awaited must not go unhandled meanwhile.
      block.catch(() => undefined);
      pending.push(block);
      members += 1;
      parts = [];
      size = 0;
    };
    for await (const chunk of source) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= BLOCK_BYTES) {
        seal();
        if (pending.length >= concurrency) yield await pending.shift()!;
      }
    }
    // An empty input is still one (empty) member: a valid gzip file.
    if (size > 0 || members === 0) seal();
    while (pending.length > 0) yield await pending.shift()!;
  };
}
