import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/**
 * Temporary folders of this process, removed when it exits normally (a test file that forgot to dispose a
 * job or result). A process that is killed leaves them; the next TrainingContainer removes them by their owner file.
 */
const folders = new Set<string>();
let hooked = false;

export function removeAtExit(dir: string): void {
  folders.add(dir);
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const d of folders) rmSync(d, { recursive: true, force: true });
  });
}

/** Removes a folder now (and forgets it for the exit hook). */
export async function removeNow(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  folders.delete(dir);
}
