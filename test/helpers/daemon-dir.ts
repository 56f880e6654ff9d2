import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A folder of its own for the resident workers that the bundled CLI starts in a test file (CRML_DAEMON_DIR),
 * and the end of every manager started there: a test leaves no process behind.
 */
export function daemonDir(): { dir: string; stopAll: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'crml-daemon-test-'));
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    dir,
    stopAll: async () => {
      const pids = readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(join(dir, f), 'utf8')));
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
