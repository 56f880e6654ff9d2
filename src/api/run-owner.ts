import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RunOwner } from './trained-model-records.js';

/** This process, as the owner of the runs it starts or takes over. */
export function thisProcess(): RunOwner {
  return { pid: process.pid, hostname: hostname() };
}

/** Whether the process that owns a run still lives: a run whose owner is gone is the next process's to take over. */
export function ownerAlive(owner: RunOwner | undefined): boolean {
  if (!owner || owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process nobody reaped yet is a zombie: it answers signals but runs nothing.
  try {
    const stat = readFileSync(`/proc/${owner.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
