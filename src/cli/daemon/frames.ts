/**
 * The resident worker's wire: frames of [type: 1 byte][length: 4 bytes, big-endian][payload] over a Unix socket.
 * The worker speaks first (accepted); only then does the client send its request, so that a command is either run
 * by a worker or, when none accepts in time, by the client itself, never by both. Client to worker: the request (JSON), a signal's name, the terminal's new size (JSON), a stream the client can no
 * longer write (its reader went away). Worker to client: stdout and stderr bytes, and the exit code last.
 */
export const Frame = {
  accepted: 0x41, // 'A': worker to client, first: a worker has the connection and waits for the request
  request: 0x52, // 'R'
  signal: 0x53, // 'S'
  resize: 0x57, // 'W'
  closed: 0x43, // 'C': payload '1' or '2', the client's stream that failed (EPIPE)
  stdout: 0x4f, // 'O'
  stderr: 0x45, // 'E'
  exit: 0x58, // 'X': payload the exit code as a decimal string
} as const;

export interface StreamFacts {
  isTTY: boolean;
  columns?: number;
  rows?: number;
  /** The caller's stream as a path the worker can open (a pipe's /proc/<pid>/fd/N), to write to it itself. */
  pipe?: string;
}

/** What a command is, as the client's own process would have run it. */
export interface CommandRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  umask: number;
  stdout: StreamFacts;
  stderr: StreamFacts;
}

export function frame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames, however the chunks fall. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (type: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 5) {
      const length = this.buffered.readUInt32BE(1);
      if (this.buffered.length < 5 + length) break;
      const type = this.buffered[0]!;
      const payload = this.buffered.subarray(5, 5 + length);
      this.buffered = this.buffered.subarray(5 + length);
      this.onFrame(type, payload);
    }
  }
}
