import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * The process that owns a run or a SQL channel's query: if it is gone, the next process to reconcile takes the work
 * over. Pid, host and the process's start time, so that a pid reused after a restart is not taken for the owner.
 */
export interface ProcessOwner {
  pid: number;
  hostname: string;
  /** /proc/<pid>/stat's start time (clock ticks since boot); absent where there is no /proc. */
  startTime?: string;
}

/** This process, as the owner of the work it starts or takes over. */
export function thisProcess(): ProcessOwner {
  const startTime = processStartTime(process.pid);
  return { pid: process.pid, hostname: hostname(), ...(startTime ? { startTime } : {}) };
}

/** Whether the owner still lives: a zombie, or another process with a reused pid, does not. */
export function ownerAlive(owner: ProcessOwner | undefined): boolean {
  if (!owner || owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(owner.pid);
  if (!stat) return true;
  // A killed process nobody reaped yet is a zombie: it answers signals but runs nothing.
  if (stat.state === 'Z') return false;
  return owner.startTime === undefined || owner.startTime === stat.startTime;
}

function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

function procStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After "pid (comm) ": the state is field 3, the start time field 22.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}
