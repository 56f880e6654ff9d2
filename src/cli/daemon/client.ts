import { fstatSync } from 'node:fs';
import { connect } from 'node:net';
import { constants } from 'node:os';
import { Frame, FrameReader, frame, type CommandRequest } from './frames.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** How long to wait for a worker to accept (CRML_DAEMON_ACCEPT_MS); past it, the command runs in this process. */
const ACCEPT_MS = 10_000;

/**
 * A pipe this process writes to, as a path another process of this user can open: the worker then writes a
 * command's output (a million lines of `crml logs`) into it itself, rather than through this process.
 */
function pipePath(fd: number): string | undefined {
  try {
    return fstatSync(fd).isFIFO() ? `/proc/${process.pid}/fd/${fd}` : undefined;
  } catch {
    return undefined;
  }
}

function flushed(out: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => (out.destroyed || out.writableLength === 0 ? resolve() : out.write('', () => resolve())));
}

/**
 * Hands the command to the resident worker at `path` and stands in for it: its stdout and stderr bytes are written
 * here (with backpressure: the socket is read no faster than this process's own streams take them), signals sent to
 * this process are sent on to it, and its exit code is this process's. Resolves undefined, having sent nothing, when
 * no worker answers at `path` or none accepts the command in time; the caller then runs the command itself.
 */
export function runInWorker(path: string, argv: string[]): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let started = false;
    let exitCode: number | undefined;
    let signalled: NodeJS.Signals | undefined;
    const finish = (code: number) => {
      for (const s of FORWARDED) process.off(s, onSignal);
      process.off('SIGWINCH', onResize);
      // The caller exits: only once this process's streams have handed every byte to their readers (a pipe's
      // writes queue when its reader is slow, and process.exit drops what is queued).
      void Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => resolve(code));
    };
    const onSignal = (s: NodeJS.Signals) => {
      signalled = s;
      socket.write(frame(Frame.signal, s));
    };
    const onResize = () => socket.write(frame(Frame.resize, JSON.stringify({ columns: process.stdout.columns, rows: process.stdout.rows })));
    const writeTo = (out: NodeJS.WriteStream, payload: Buffer) => {
      if (!out.write(payload)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
    };
    for (const [fd, out] of [[1, process.stdout], [2, process.stderr]] as const) {
      // The reader went away (`| head`): the worker's stream fails as the command's own would.
      out.on('error', () => socket.writable && socket.write(frame(Frame.closed, String(fd))));
    }
    const accept = setTimeout(() => socket.destroy(), Number(process.env.CRML_DAEMON_ACCEPT_MS) || ACCEPT_MS);
    const reader = new FrameReader((type, payload) => {
      if (type === Frame.accepted) sendRequest();
      else if (type === Frame.stdout) writeTo(process.stdout, payload);
      else if (type === Frame.stderr) writeTo(process.stderr, payload);
      else if (type === Frame.exit) exitCode = Number(payload.toString());
    });
    const sendRequest = () => {
      clearTimeout(accept);
      started = true;
      const umask = process.umask(0o022);
      process.umask(umask);
      const request: CommandRequest = {
        argv,
        cwd: process.cwd(),
        env: process.env as Record<string, string>,
        umask,
        stdout: { isTTY: Boolean(process.stdout.isTTY), columns: process.stdout.columns, rows: process.stdout.rows, pipe: pipePath(1) },
        stderr: { isTTY: Boolean(process.stderr.isTTY), columns: process.stderr.columns, rows: process.stderr.rows },
      };
      socket.write(frame(Frame.request, JSON.stringify(request)));
      for (const s of FORWARDED) process.on(s, onSignal);
      if (process.stdout.isTTY) process.on('SIGWINCH', onResize);
    };
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    // Before the request: nothing there, no worker accepting in time, or one gone. The caller runs the command itself.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(accept);
      if (!started) return resolve(undefined);
      if (exitCode !== undefined) return finish(exitCode);
      // The worker ended without a code: killed, most likely by the signal passed on. A shell reports 128 + its number.
      if (signalled) return finish(128 + (constants.signals[signalled] ?? 1));
      process.stderr.write('crml: the resident worker running this command ended unexpectedly (set CRML_DAEMON=0 to run commands in their own process)\n');
      finish(255);
    });
  });
}
