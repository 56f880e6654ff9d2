import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * Runs `crml <argv>` in a new Node process started directly (not through the command's first line, so with this
 * process's environment whole, NODE_EXTRA_CA_CERTS included), sharing this process's standard streams; resolves its
 * exit code, or 128 + the signal that ended it, as a shell reports. Signals sent to this process are passed on: the
 * command's handlers decide, as in its own process (Ctrl-C at a terminal reaches both; the command's handlers
 * take a second SIGINT as the first).
 */
export function runInFreshNode(entry: string, argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...argv], { stdio: 'inherit' });
    const onSignal = (s: NodeJS.Signals) => child.kill(s);
    for (const s of FORWARDED) process.on(s, onSignal);
    const done = (code: number) => {
      for (const s of FORWARDED) process.off(s, onSignal);
      resolve(code);
    };
    child.on('error', (e) => {
      process.stderr.write(`crml: could not start Node for the command: ${e.message}\n`);
      done(255);
    });
    child.on('exit', (code, signal) => done(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1)));
  });
}
