import Database from 'better-sqlite3';
import { loadDockerode } from '../runner/dockerode-loader.js';

// The bundle's entry (scripts/bundle-cli.mjs): main() for dist/bin/crml.cjs to run, in its own process or in a
// resident worker (src/cli/daemon). It runs nothing itself, so a worker can load it before its command arrives.
export { main } from './main.js';

/**
 * What a resident worker does before its command arrives: the first call of a module costs its initialisation
 * (the store's native module loads at the first database, dockerode's modules at the first engine), so a worker
 * pays it while it waits rather than while a command does. Nothing is opened that outlives this.
 */
export async function warm(): Promise<void> {
  new Database(':memory:').close();
  loadDockerode();
  await import('./commands/train.js');
}
