import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import { createClusterNetwork, HOST_REACHABLE_WARNING } from '../../src/runner/cluster-network.js';
import { EngineError, type ContainerEngine, type NetworkCreateSpec } from '../../src/runner/container-engine.js';
import type { LogLine, TrainingJobSpec } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';
import { probeJobSpec } from '../helpers/job-spec.js';

/** Not crml.test=1: the runner tests' afterEach removes every container with that label, also of a test running beside them. */
const TEST_LABELS = { 'crml.test.runner-safety': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcd51';

/**
 * Each host listens on 7000 and connects to every peer by its alias, then tries the host service through the
 * network's gateway (the subnet's .1), through each of the host's own addresses, and an outside address.
 * `reach <what> <address>=yes|no` on stdout for each.
 */
const SCRIPT = String.raw`
(while true; do echo peer-hello | nc -l -p 7000 >/dev/null 2>&1; done) &
try() { # what address port tries
  i=0; while [ "$i" -lt "$4" ]; do
    if nc -w 2 "$2" "$3" </dev/null 2>/dev/null | grep -q hello; then echo "reach $1 $2=yes"; return; fi
    i=$((i + 1)); sleep 1
  done
  echo "reach $1 $2=no"
}
for h in $PEERS; do try peer "$h" 7000 15; done
gw=$(ip -4 route | awk '/scope link/ { split($1, a, "/"); split(a[1], o, "."); print o[1] "." o[2] "." o[3] "." (o[4] + 1); exit }')
try gateway "$gw" "$HOST_PORT" 1
for a in $HOST_ADDRESSES; do try host "$a" "$HOST_PORT" 1; done
try outside 203.0.113.1 80 1
sleep 3
`;

describe('a cluster network reaches its own hosts and nothing else (real 2-instance run)', () => {
  let server: Server;
  let port = 0;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'crml-isolation-test-'));
    server = createServer((socket) => socket.end('host-hello\n'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('peers reach each other by alias; the host service on 0.0.0.0 and the outside are unreachable', async () => {
    // Every IPv4 address of this machine but loopback (docker0's too: Node leaves out interfaces that are down).
    const fromIp = [...execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
    const fromNode = Object.values(networkInterfaces()).flat().filter((a) => a?.family === 'IPv4').map((a) => a!.address);
    const hostAddresses = [...new Set([...fromIp, ...fromNode])].filter((a) => !a.startsWith('127.'));
    const runner = new DockerTrainingRunner({ engine, logger: pino({ level: 'silent' }), settings: defaultSettings({ dataDir: work }) });
    const lines: LogLine[] = [];
    const spec = probeJobSpec({
      trainedModelArn: ARN,
      name: 'isolation-test',
      entrypoint: ['/bin/sh', '-c', SCRIPT],
      environment: { HOST_PORT: String(port), HOST_ADDRESSES: hostAddresses.join(' '), PEERS: 'algo-1 algo-2' },
      instanceCount: 2,
      artifactsDir: work,
      labels: TEST_LABELS,
    });
    const result = await runner.run(spec, { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined }, new AbortController().signal);
    const said = lines.filter((l) => l.text.startsWith('reach ')).map((l) => `${l.host} ${l.text}`);
    expect(result.statusCode, lines.map((l) => `${l.host} ${l.text}`).join('\n')).toBeUndefined();
    for (const h of ['algo-1', 'algo-2']) {
      expect(said, said.join('\n')).toContain(`${h} reach peer algo-1=yes`);
      expect(said, said.join('\n')).toContain(`${h} reach peer algo-2=yes`);
      expect(said.filter((s) => s.startsWith(`${h} reach gateway `)), h).toHaveLength(1);
      for (const a of hostAddresses) expect(said, said.join('\n')).toContain(`${h} reach host ${a}=no`);
      expect(said, said.join('\n')).toContain(`${h} reach outside 203.0.113.1=no`);
    }
    expect(said.filter((s) => s.endsWith('=yes') && !s.includes(' peer ')), said.join('\n')).toEqual([]);
  });
});

describe('an engine without the bridge option (Podman: netavark refuses it)', () => {
  it('gets a plain internal network, and the run is told the host stays reachable', async () => {
    const created: NetworkCreateSpec[] = [];
    const podmanLike = {
      removeNetwork: async () => undefined,
      createNetwork: async (spec: NetworkCreateSpec) => {
        if (spec.driverOptions) throw new EngineError('unsupported bridge network option com.docker.network.bridge.inhibit_ipv4', 500);
        created.push(spec);
        return 'id';
      },
    } as unknown as ContainerEngine;
    const spec = { trainedModelArn: ARN, labels: {} } as unknown as TrainingJobSpec;
    const result = await createClusterNetwork(podmanLike, spec);
    expect(result.warning).toBe(HOST_REACHABLE_WARNING);
    expect(created).toHaveLength(1);
    expect(created[0]!.internal).toBe(true);
  });

  it('any other refusal fails the run as before', async () => {
    const refusing = {
      removeNetwork: async () => undefined,
      createNetwork: async () => {
        throw new EngineError('could not find an available, non-overlapping IPv4 address pool', 500);
      },
    } as unknown as ContainerEngine;
    await expect(createClusterNetwork(refusing, { trainedModelArn: ARN, labels: {} } as unknown as TrainingJobSpec)).rejects.toThrow(/address pool/);
  });
});
