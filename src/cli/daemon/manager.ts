import { fork, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { socketPath } from './paths.js';
import { chmodSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** How long a resident worker waits for a command before it goes (CRML_DAEMON_IDLE_SECONDS). */
const DEFAULT_IDLE_SECONDS = 600;

/** Workers kept ready while no command runs: two, so that a command right after another finds one ready. */
const SPARES = 2;
const SPARE_NICENESS = 10;

/**
 * The resident part: listens at `path` and keeps workers ready (processes that have loaded the CLI, the store's
 * native module and the runner, and wait for a command). Each connection is handed to a ready worker, which serves
 * that one command and exits. New workers start once no command is running, so that their start (a few hundred
 * ms of CPU) does not slow one down, or at once when a command waits with none ready. Ends after an idle while,
 * when another process has taken over the socket's name, or when the CLI has been rebuilt (its commands go to a
 * socket of the new build's name).
 */
export async function runManager(path: string, workerEntry: string, bundlePath: string): Promise<void> {
  const idleMs = Math.max(1, Number(process.env.CRML_DAEMON_IDLE_SECONDS) || DEFAULT_IDLE_SECONDS) * 1000;
  if (await answers(path)) return; // another one is already there
  rmSync(path, { force: true });
  const server = createServer({ pauseOnConnect: true });
  const ready: ChildProcess[] = [];
  const starting = new Set<ChildProcess>();
  const waiting: Socket[] = [];
  let lastUse = Date.now();

  const busy = new Set<ChildProcess>();
  let failures = 0;

  const start = (spare: boolean) => {
    const worker = fork(workerEntry, [], {
      env: { ...process.env, CRML_DAEMON_ROLE: 'worker', CRML_DAEMON_PRIORITY: String(getPriority()) },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      execArgv: [],
    });
    starting.add(worker);
    // A spare warms up at a low priority, so that it takes only what a command going on leaves: only where the
    // worker can take its priority back when its command comes (as root; worker.ts), else at the usual one.
    if (spare && worker.pid && process.getuid?.() === 0) {
      try {
        setPriority(worker.pid, Math.min(19, getPriority() + SPARE_NICENESS));
      } catch {
        // Left at the usual priority.
      }
    }
    worker.once('message', () => {
      failures = 0;
      starting.delete(worker);
      ready.push(worker);
      dispatch();
    });
    worker.once('exit', () => {
      // A worker that cannot start (a native module that fails to load) would be started again and again.
      if (starting.delete(worker) && (failures += 1) >= 3) return stop();
      busy.delete(worker);
      const i = ready.indexOf(worker);
      if (i >= 0) ready.splice(i, 1);
      dispatch();
    });
  };

  const dispatch = () => {
    while (ready.length > 0 && waiting.length > 0) {
      const worker = ready.shift()!;
      const socket = waiting.shift()!;
      busy.add(worker);
      // Once sent, the worker has its own copy; the IPC channel goes, so this process's end does not end it.
      worker.send('command', socket, () => worker.connected && worker.disconnect());
    }
    const wanted = waiting.length + (busy.size === 0 ? SPARES : 0);
    while (ready.length + starting.size < wanted) start(waiting.length === 0);
  };

  server.on('connection', (socket) => {
    lastUse = Date.now();
    waiting.push(socket);
    dispatch();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  const ino = statSync(path).ino;
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pid`, `${process.pid}\n`);

  const stop = () => {
    server.close();
    // Commands still waiting run in their own processes (their clients see the connection close unaccepted).
    for (const s of waiting) s.destroy();
    for (const w of [...ready, ...starting]) w.kill();
    try {
      // Only our own socket: another manager may have taken the name over.
      if (statSync(path).ino === ino) rmSync(path, { force: true });
      rmSync(`${path}.pid`, { force: true });
    } catch {
      // Already gone.
    }
    process.exit(0);
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, stop);
  setInterval(() => {
    let ours = false;
    try {
      ours = statSync(path).ino === ino;
    } catch {
      ours = false;
    }
    if (socketPath(bundlePath) !== path) ours = false;
    if (!ours || (waiting.length === 0 && Date.now() - lastUse > idleMs)) stop();
  }, Math.min(idleMs, 30_000)).unref();
  dispatch();
}

/** Whether something listens at `path` (a socket file left by a process that has gone does not). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
