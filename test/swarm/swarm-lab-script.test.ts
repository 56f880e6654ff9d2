import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, MANAGER, NODES, onNode } from './swarm-lab.js';

const SCRIPT = join(import.meta.dirname, '../../scripts/swarm-lab.sh');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 240_000 }).trim();

/**
 * What of this machine the lab must leave as it found it: links and firewall rules (less what the host's own engine,
 * shared with other tests, may add meanwhile: its veths and br- bridges and their rules, and the crmli… bridges and
 * crml-inference rules of inference tests running beside this one), namespaces, the host engine's swarm state.
 */
function hostState() {
  const hostEngines = /veth|br-[0-9a-f]{12}|DOCKER|docker0|crmli[0-9a-f]+|crml-inference/;
  return {
    links: sh('ip', ['-br', 'link']).split('\n').filter((l) => !hostEngines.test(l)).map((l) => l.split(/\s+/)[0]),
    iptables: sh('iptables-save', []).split('\n').filter((l) => !l.startsWith('#') && !hostEngines.test(l)),
    namespaces: sh('ip', ['netns', 'list']),
    hostSwarm: sh('docker', ['-H', 'unix:///var/run/docker.sock', 'info', '--format', '{{.Swarm.LocalNodeState}}']),
  };
}

function labProcesses(): string[] {
  return sh('ps', ['-eo', 'pid=,args=']).split('\n').filter((l) => /crml-lab-n\d|crml-swarm-lab/.test(l) && !/ps -eo/.test(l));
}

describe('scripts/swarm-lab.sh', () => {
  it('brings up three nodes of one swarm with the images and engine labels, and goes down leaving nothing', () => {
    let wasUp = true;
    try {
      sh('bash', [SCRIPT, 'status']);
    } catch {
      wasUp = false;
    }
    if (wasUp) labDown();
    const before = hostState();
    try {
      expect(sh('bash', [SCRIPT, 'up'])).toBe(`DOCKER_HOST=${MANAGER}`);
      const nodes = onNode(MANAGER, 'node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}}').split('\n').sort();
      expect(nodes).toEqual(NODES.map((n) => `${n.hostname} Ready Active`));
      for (const n of NODES) {
        expect(onNode(MANAGER, 'node', 'inspect', n.hostname, '--format', '{{index .Spec.Labels "crml.engine"}}')).toBe(n.socket);
        const id = sh('docker', ['image', 'inspect', 'crml-examples/data-parallel:latest', '--format', '{{.Id}}']);
        expect(onNode(n.socket, 'image', 'inspect', 'crml-examples/data-parallel:latest', '--format', '{{.Id}}')).toBe(id);
      }
      expect(hostState().hostSwarm).toBe('inactive');
    } finally {
      labDown();
    }
    expect(hostState()).toEqual(before);
    // Nothing of the lab's own addresses (10.77–10.80) in any rule of this machine.
    expect(sh('iptables-save', []).split('\n').filter((l) => /10\.(77|78|79|80)\./.test(l))).toEqual([]);
    expect(labProcesses()).toEqual([]);
    expect(existsSync(join(process.env.TMPDIR ?? '/tmp', 'crml-swarm-lab'))).toBe(false);
    expect(readdirSync('/run').filter((f) => f.startsWith('crml-lab'))).toEqual([]);
    if (wasUp) sh('bash', [SCRIPT, 'up']);
  }, 300_000);
});
