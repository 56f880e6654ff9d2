import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';

/**
 * The 3-node lab of scripts/swarm-lab.sh for the Swarm tests: brought up when it is not, and read through each
 * node's own socket as a user would with `docker -H`. Under this repository's vitest config the lab stays up from
 * the first file that needs it to the end of the run, and test/swarm/lab-global-setup.ts takes it down then if a
 * file brought it up; without that setup (another config), the file that brought it up takes it down.
 */
const SCRIPT = join(import.meta.dirname, '../../scripts/swarm-lab.sh');
const LAB = process.env.CRML_SWARM_LAB_DIR ?? join(process.env.TMPDIR ?? '/tmp', 'crml-swarm-lab');

export const NODES = [1, 2, 3].map((i) => ({ hostname: `crml-lab-n${i}`, socket: `unix://${join(LAB, `n${i}`, 'docker.sock')}` }));
export const MANAGER = NODES[0]!.socket;

function lab(...args: string[]): string {
  return execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 }).trim();
}

/** Brings the lab up if it is not; true when the caller must take it down again (no run-wide teardown will). */
export function labUp(): boolean {
  try {
    lab('status');
    lab('up'); // loads any image a node lacks
    return false;
  } catch {
    lab('up');
    const mark = inject('swarmLabMark');
    if (!mark) return true;
    writeFileSync(mark, 'brought up by this vitest run\n');
    return false;
  }
}

export function labDown(): void {
  lab('down');
}

/** In a test file: the lab up before its tests, and down after them when this file brought it up. */
export function useSwarmLab(): void {
  let broughtUp = false;
  beforeAll(() => {
    broughtUp = labUp();
  }, 300_000);
  afterAll(() => {
    if (broughtUp) labDown();
  }, 120_000);
}

export function onNode(socket: string, ...args: string[]): string {
  return execFileSync('docker', ['-H', socket, ...args], { encoding: 'utf8' }).trim();
}

/** What of the run is left anywhere on the lab: services, configs and networks on the manager, containers and volumes on each node. */
export function leftOnLab(trainedModelArn: string): string[] {
  const label = `label=crml.trained-model=${trainedModelArn}`;
  const left: string[] = [];
  const add = (what: string, out: string) => out && left.push(`${what}: ${out.replace(/\n/g, ' ')}`);
  add('services', onNode(MANAGER, 'service', 'ls', '-q', '--filter', label));
  add('configs', onNode(MANAGER, 'config', 'ls', '-q', '--filter', label));
  add('networks', onNode(MANAGER, 'network', 'ls', '-q', '--filter', label));
  for (const n of NODES) {
    add(`containers on ${n.hostname}`, onNode(n.socket, 'ps', '-aq', '--filter', label));
    add(`volumes on ${n.hostname}`, onNode(n.socket, 'volume', 'ls', '-q', '--filter', label));
  }
  return left;
}
