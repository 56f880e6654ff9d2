import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { runInWorker } from './client.js';
import { runManager } from './manager.js';
import { socketPath } from './paths.js';
import { serveOneCommand } from './worker.js';
import { daemonCommand } from './control.js';
import { runInFreshNode } from './fresh-node.js';

export interface Bundle {
  /** The CLI's main(), and warm(): what a worker runs before its command (src/cli/bundle-entry.ts). */
  load(): { main: (argv: string[]) => Promise<number>; warm: () => Promise<number> };
  /** The bundle's file (its identity names the socket) and the `crml` script (what a worker runs). */
  bundlePath: string;
  entry: string;
  /**
   * This process started without NODE_EXTRA_CA_CERTS's certificates (the `crml` script's first lines leave them
   * out): a command it would run itself runs in a fresh Node instead, which has them.
   */
  withoutExtraCa?: boolean;
}

/** Commands that stay in their own process: a server lives as long as its caller wants, and gains nothing. */
const OWN_PROCESS = new Set(['serve']);
/** The CLI's global options that take a value (src/cli/main.ts): what follows them is not the command. */
const VALUED_GLOBALS = new Set(['--data-dir', '--log-level']);

/** The command's name: the first word that is neither a global option nor its value. */
function commandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (VALUED_GLOBALS.has(argv[i]!)) i += 1;
    else if (!argv[i]!.startsWith('-')) return argv[i];
  }
  return undefined;
}

/**
 * `crml`: a command goes to this user's resident worker when one answers, so that it starts with the CLI already
 * loaded (Node's start and the bundle's are most of a short command's time); otherwise it runs here, and a
 * resident worker is started for the next command. CRML_DAEMON=0 keeps every command in its own process; so do
 * Node flags (NODE_OPTIONS, --require…), which a worker started earlier would not have.
 */
export async function start(argv: string[], bundle: Bundle): Promise<never> {
  const role = process.env.CRML_DAEMON_ROLE;
  if (role === 'manager') {
    delete process.env.CRML_DAEMON_ROLE;
    await runManager(process.env.CRML_DAEMON_SOCKET!, bundle.entry, bundle.bundlePath);
    return new Promise<never>(() => undefined);
  }
  if (role === 'worker') {
    delete process.env.CRML_DAEMON_ROLE;
    const { main, warm } = bundle.load();
    await warm();
    let given = false;
    process.on('message', (_m, socket) => {
      given = true;
      serveOneCommand(socket as Socket, main);
    });
    // The manager went before giving this worker a command: nothing to wait for.
    process.on('disconnect', () => given || process.exit(0));
    process.send!('ready');
    return new Promise<never>(() => undefined);
  }
  const command = commandName(argv);
  if (command === 'daemon') {
    process.exit(await daemonCommand(argv.slice(argv.indexOf('daemon') + 1), socketPath(bundle.bundlePath), (s) => process.stderr.write(`${s}\n`)));
  }
  const usable = process.env.CRML_DAEMON !== '0' && !OWN_PROCESS.has(command ?? '') && process.execArgv.length === 0 && !process.env.NODE_OPTIONS;
  const path = usable ? socketPath(bundle.bundlePath) : undefined;
  if (path) {
    const code = await runInWorker(path, argv);
    if (code !== undefined) process.exit(code);
  }
  // The fresh Node goes through this same function: it finds no worker either, runs the command and starts one.
  if (bundle.withoutExtraCa) process.exit(await runInFreshNode(bundle.entry, argv));
  const code = await bundle.load().main(argv);
  if (path) startManager(path, bundle.entry);
  process.exit(code);
}

/** A manager of its own session, holding none of this process's streams, so that no terminal or pipe waits on it. */
function startManager(path: string, entry: string): void {
  try {
    spawn(process.execPath, [entry], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, CRML_DAEMON_ROLE: 'manager', CRML_DAEMON_SOCKET: path },
    }).unref();
  } catch {
    // No resident worker: the next command runs in its own process too.
  }
}
