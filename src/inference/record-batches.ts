import { createReadStream } from 'node:fs';

/** A record (a line) larger than maxPayloadInMB: it cannot be sent, and it is never split. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
}

export interface RecordBatch {
  body: Buffer;
  /** 1-based number of the batch's first record (line) in its file, and how many records it holds. */
  firstRecord: number;
  records: number;
}

const NEWLINE = 0x0a;

/**
 * One input file as request bodies of at most `maxBytes`, split between records (lines, the newline kept with
 * its record), never inside one: as SageMaker batch transform's SplitType Line with MaxPayloadInMB. Blank lines
 * are no records and are left out. `splitLines: false` (a Parquet file) sends the file whole. Reads the file as
 * a stream: at most one batch and one partial line are held at a time.
 */
export async function* recordBatches(path: string, maxBytes: number, splitLines: boolean, displayName = path): AsyncGenerator<RecordBatch> {
  const tooLarge = (what: string, bytes: number) =>
    new RecordTooLargeError(
      `${what} of ${displayName} is ${bytes} bytes or more, larger than containerExecutionParameters.maxPayloadInMB (${maxBytes} bytes); a record is never split.`,
    );
  if (!splitLines) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw tooLarge('The file', size);
      chunks.push(chunk as Buffer);
    }
    if (size > 0) yield { body: Buffer.concat(chunks), firstRecord: 1, records: 1 };
    return;
  }
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let batchFirst = 1;
  let batchRecords = 0;
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let line = 0;
  const take = (record: Buffer): RecordBatch | undefined => {
    line += 1;
    if (record.length === 0 || (record.length <= 2 && record.toString('latin1').trim() === '')) return undefined;
    if (record.length > maxBytes) throw tooLarge(`Line ${line}`, record.length);
    let full: RecordBatch | undefined;
    if (batchBytes + record.length > maxBytes) {
      full = { body: Buffer.concat(batch, batchBytes), firstRecord: batchFirst, records: batchRecords };
      batch = [];
      batchBytes = 0;
      batchRecords = 0;
    }
    if (batchRecords === 0) batchFirst = line;
    batch.push(record);
    batchBytes += record.length;
    batchRecords += 1;
    return full;
  };
  for await (const raw of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    const chunk = raw as Buffer;
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, i + 1);
      const record = partialBytes > 0 ? Buffer.concat([...partial, piece]) : Buffer.from(piece);
      partial = [];
      partialBytes = 0;
      start = i + 1;
      const full = take(record);
      if (full) yield full;
    }
    if (start < chunk.length) {
      partial.push(chunk.subarray(start));
      partialBytes += chunk.length - start;
      // A line that is already too large is refused before more of it is held.
      if (partialBytes > maxBytes) throw tooLarge(`Line ${line + 1}`, partialBytes);
    }
  }
  if (partialBytes > 0) {
    const full = take(Buffer.concat(partial, partialBytes));
    if (full) yield full;
  }
  if (batchRecords > 0) yield { body: Buffer.concat(batch, batchBytes), firstRecord: batchFirst, records: batchRecords };
}
