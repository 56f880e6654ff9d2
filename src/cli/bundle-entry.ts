import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDockerode } from '../runner/dockerode-loader.js';
import { main } from './main.js';
import { rehearsalEngine } from './rehearsal-engine.js';

// The bundle's entry (scripts/bundle-cli.mjs): main() for dist/bin/crml.cjs to run, in its own process or in a
// resident worker (src/cli/daemon). It runs nothing itself, so a worker can load it before its command arrives.
export { main };

/** Process-wide things a command may add to and must take away again. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'] as const;

/**
 * What a resident worker does before its command arrives. The first call of anything costs its initialisation
 * (modules, the store's native module, each zod schema's first parse, Node's HTTP client, V8's compiling of each
 * function the first time it runs), so the worker pays it here rather than a command: it rehearses a no-op
 * `crml train` in a scratch data folder against a stand-in engine there (rehearsal-engine.ts), end to end. Nothing
 * of it remains: its folder is removed, the environment restored, and any handler it added to the process taken
 * away; main() starts every command afresh. Resolves the rehearsal's exit code (0: it went through the whole run).
 */
export async function warm(): Promise<number> {
  new Database(':memory:').close();
  loadDockerode();
  await import('./commands/train.js');
  const dir = mkdtempSync(join(tmpdir(), 'crml-rehearsal-'));
  const env = { ...process.env };
  const listeners = SIGNALS.map((s) => process.listeners(s as NodeJS.Signals));
  let code: number;
  try {
    mkdirSync(join(dir, 'empty'));
    const engineSocket = join(dir, 'engine.sock');
    const engine = await rehearsalEngine(engineSocket);
    Object.assign(process.env, { CRML_DATA_DIR: dir, DOCKER_HOST: `unix://${engineSocket}`, CRML_LOG_LEVEL: 'silent' });
    try {
      code = await main(['train', '--image', 'crml-rehearsal/none:none', '--entrypoint', '/bin/true', '--channel', `train=${join(dir, 'empty')}`]);
    } finally {
      await engine.close();
    }
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
    rmSync(dir, { recursive: true, force: true });
  }
  // A handler the rehearsal left behind (it should leave none) goes, so that it cannot act on the real command.
  SIGNALS.forEach((s, i) => {
    for (const l of process.listeners(s as NodeJS.Signals)) if (!listeners[i]!.includes(l)) process.off(s as NodeJS.Signals, l);
  });
  return code;
}
