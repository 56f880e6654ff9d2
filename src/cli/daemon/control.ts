import { readFileSync } from 'node:fs';

/** The manager's pid from its pid file, when that process is alive. */
function managerPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(`${path}.pid`, 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * `crml daemon status` (JSON: the socket, the manager's pid, whether it runs) and `crml daemon stop` (ends the
 * manager and its ready workers; a command being served goes on to its end). Exit 252 for anything else.
 */
export async function daemonCommand(args: string[], path: string | undefined, print: (s: string) => void): Promise<number> {
  const [verb] = args;
  if (verb !== 'status' && verb !== 'stop') {
    print(`crml daemon: expected status or stop, got ${verb === undefined ? 'nothing' : `'${verb}'`}`);
    return 252;
  }
  const pid = path ? managerPid(path) : undefined;
  if (verb === 'status') {
    process.stdout.write(`${JSON.stringify({ socket: path ?? null, pid: pid ?? null, running: pid !== undefined, enabled: process.env.CRML_DAEMON !== '0' })}\n`);
    return 0;
  }
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && managerPid(path!) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
  }
  return 0;
}
