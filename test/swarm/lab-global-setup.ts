import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A file that exists once a test file of this run brought the Swarm lab up (test/swarm/swarm-lab.ts). */
    swarmLabMark: string;
  }
}

/**
 * The Swarm lab once per vitest run rather than once per test/swarm file: the first labUp() that brings it up
 * leaves a mark, and the run's teardown takes the lab down only then. A run without Swarm files only names a path.
 * `down` takes about 10 s, vitest's teardownTimeout: it runs in a process group of its own, awaited without
 * blocking vitest's own shutdown, and finishes even if vitest exits at that timeout first.
 */
export default function setup(project: TestProject): () => Promise<void> {
  const mark = join(tmpdir(), `crml-swarm-lab-brought-up-${process.pid}`);
  rmSync(mark, { force: true });
  project.provide('swarmLabMark', mark);
  return async () => {
    if (!existsSync(mark)) return;
    rmSync(mark, { force: true });
    const down = spawn('bash', [join(import.meta.dirname, '../../scripts/swarm-lab.sh'), 'down'], { detached: true, stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve, reject) => down.once('error', reject).once('exit', resolve));
    if (code !== 0) throw new Error(`bash scripts/swarm-lab.sh down exited with ${code}: the Swarm lab may be partly up`);
  };
}
