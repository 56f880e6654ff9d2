import { Writable } from 'node:stream';
import { Socket as NetSocket, type Socket } from 'node:net';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { Frame, FrameReader, frame, type CommandRequest, type StreamFacts } from './frames.js';

type Main = (argv: string[]) => Promise<number>;

/**
 * One of the command's standard streams, as the worker sees it: bytes go to the client in frames, and the facts a
 * command asks of its terminal (isTTY, columns, rows) are the client's. A write is done when the socket has taken
 * it, so a slow reader at the client's end slows the command as it would in its own process.
 */
class ClientStream extends Writable {
  isTTY: boolean;
  columns?: number;
  rows?: number;

  constructor(private readonly socket: Socket, private readonly type: number, facts: StreamFacts, readonly fd: number) {
    super();
    this.isTTY = facts.isTTY;
    this.columns = facts.columns;
    this.rows = facts.rows;
  }

  hasColors(): boolean {
    return this.isTTY;
  }

  getColorDepth(): number {
    return this.isTTY ? 8 : 1;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    this.socket.write(frame(this.type, chunk), (e) => callback(e));
  }
}

/** The manager's own priority, which a spare that warmed up at a lower one (manager.ts) takes back for its command. */
const PRIORITY = process.env.CRML_DAEMON_PRIORITY === undefined ? undefined : Number(process.env.CRML_DAEMON_PRIORITY);
delete process.env.CRML_DAEMON_PRIORITY;

function restorePriority(): void {
  if (PRIORITY === undefined || getPriority() === PRIORITY) return;
  try {
    setPriority(PRIORITY);
  } catch {
    // Not allowed: the command runs at the spare's priority.
  }
}

/**
 * The caller's pipe, opened here to be written directly (no copy through the caller's process): only a pipe
 * (FIFO) that has a reader, opened without blocking. Undefined when that cannot be had (/proc hidden, no reader):
 * the output then goes through the caller.
 */
function openPipe(path: string | undefined): Writable | undefined {
  if (!path) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFIFO()) throw new Error('not a pipe');
    return new NetSocket({ fd, readable: false, writable: true });
  } catch {
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }
}

/** Ends a stream and resolves once it has flushed and closed, or failed (a reader that went away): never rejects. */
function closed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    stream.once('close', () => resolve());
    stream.once('error', () => stream.destroy());
    // Flushed (or failed): the descriptor goes at once.
    stream.end(() => stream.destroy());
  });
}

const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });

/**
 * Runs the one command that arrives on `socket` in this process, as if the client's process were running it: its
 * arguments, working folder, environment, umask and streams. A worker serves one command and exits, so nothing of
 * one command (a handler, a cached setting, a global) can reach the next.
 */
export function serveOneCommand(socket: Socket, main: Main): void {
  let out: Writable | undefined;
  let err: ClientStream | undefined;
  let done = false;
  const reader = new FrameReader((type, payload) => {
    if (type === Frame.request && !out) void run(JSON.parse(payload.toString()) as CommandRequest);
    else if (type === Frame.signal) process.kill(process.pid, payload.toString() as NodeJS.Signals);
    else if (type === Frame.resize && out) Object.assign(out, JSON.parse(payload.toString()) as { columns?: number; rows?: number });
    else if (type === Frame.closed) (payload.toString() === '1' ? out : err)?.destroy(epipe());
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('close', () => {
    // A connection that only asked whether someone listens (another manager starting) is no command.
    if (!out) process.exit(0);
    // The client went away without a word (killed): this process goes as its own process would have.
    if (!done) process.kill(process.pid, 'SIGHUP');
  });
  socket.on('error', () => undefined);
  socket.write(frame(Frame.accepted, ''));
  socket.resume();

  async function run(request: CommandRequest): Promise<void> {
    let code = 255;
    try {
      restorePriority();
      process.chdir(request.cwd);
      for (const k of Object.keys(process.env)) delete process.env[k];
      Object.assign(process.env, request.env);
      process.umask(request.umask);
      out = openPipe(request.stdout.pipe) ?? new ClientStream(socket, Frame.stdout, request.stdout, 1);
      err = new ClientStream(socket, Frame.stderr, request.stderr, 2);
      Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => out });
      Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => err });
      process.argv = [process.argv[0]!, process.argv[1]!, ...request.argv];
      code = await main(request.argv);
    } catch (e) {
      socket.write(frame(Frame.stderr, `crml: internal error in the resident worker: ${(e as Error)?.stack ?? String(e)}\n`));
    }
    done = true;
    // The caller's pipe, written here directly, is closed before the exit code goes: its reader (a shell's
    // `$(crml …)`, `| jq`, a test harness) sees the end once the output is flushed, not once this process has
    // finished exiting, which keeps its copy of the pipe open until then.
    if (out && !(out instanceof ClientStream)) await closed(out);
    socket.end(frame(Frame.exit, String(code)), () => process.exit(code));
  }
}
