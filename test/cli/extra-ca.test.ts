import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { daemonDir } from '../helpers/daemon-dir.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'dist/bin/crml.cjs');
const IMAGE = 'crml-examples/probe:latest';
const exec = promisify(execFile);

/** `crml <args>` as a shell runs it: the file itself, so its first lines (sh) start Node. */
function crml(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

const logPids = (stderr: string) => new Set(stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { pid: number }).pid));

/**
 * The real engine behind TLS with a certificate of this test's own (an https:// DOCKER_HOST): a command reaches it
 * only where Node trusts NODE_EXTRA_CA_CERTS, which the `crml` script keeps out of the Node it starts itself.
 */
describe('crml run as a command where NODE_EXTRA_CA_CERTS is set', () => {
  const daemons = daemonDir();
  const work = mkdtempSync(join(tmpdir(), 'crml-extra-ca-'));
  const cert = join(work, 'engine.crt');
  let server: Server;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await exec('node', ['scripts/bundle-cli.mjs'], { cwd: ROOT, timeout: 120_000 });
    mkdirSync(join(work, 'empty'));
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(work, 'engine.key'), '-out', cert]);
    server = createServer({ key: readFileSync(join(work, 'engine.key')), cert: readFileSync(cert) }, (req, res) => {
      const upstream = request({ socketPath: '/var/run/docker.sock', method: req.method, path: req.url, headers: req.headers }, (answer) => {
        // Headers at once: the engine answers an attach before the output it streams, which follows the start.
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { CRML_DAEMON: _unused, NODE_OPTIONS: _none, ...rest } = process.env;
    env = {
      ...rest,
      CRML_DAEMON_DIR: daemons.dir,
      CRML_DATA_DIR: join(work, 'data'),
      DOCKER_HOST: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      NODE_EXTRA_CA_CERTS: cert,
    };
  }, 180_000);
  afterAll(async () => {
    await daemons.stopAll();
    server?.closeAllConnections();
    server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const train = (name: string, more: NodeJS.ProcessEnv = {}) =>
    crml(['--log-level', 'debug', 'train', '--name', name, '--image', IMAGE, '--entrypoint', '/bin/true', '--channel', `train=${join(work, 'empty')}`], { ...env, ...more });

  it("trusts the variable's certificates both in a Node of its own and in the resident worker", async () => {
    // No worker yet: the command runs in a fresh Node that has the certificates (not in the script's own).
    const first = await train('first');
    expect(first.stderr).not.toMatch(/certificate/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^status ACTIVE$/m);
    expect(logPids(first.stderr).has(first.pid)).toBe(false);

    const running = async () => JSON.parse((await exec(BIN, ['daemon', 'status'], { env })).stdout) as { running: boolean; pid: number };
    for (let i = 0; i < 100 && !(await running()).running; i++) await new Promise((r) => setTimeout(r, 100));
    const { pid: manager } = await running();
    // Now in a worker, which the manager started with the variable.
    const second = await train('second');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^status ACTIVE$/m);
    const [worker] = [...logPids(second.stderr)];
    expect(worker).not.toBe(second.pid);
    expect(worker).not.toBe(manager);
  }, 120_000);

  it('fails with the TLS error where the variable is unset: the engine really is behind that certificate', async () => {
    const { NODE_EXTRA_CA_CERTS: _gone, ...without } = env;
    const trained = await crml(['train', '--name', 'untrusted', '--image', IMAGE, '--entrypoint', '/bin/true', '--channel', `train=${join(work, 'empty')}`], { ...without, CRML_DAEMON: '0' });
    expect(trained.code).not.toBe(0);
    expect(trained.stdout + trained.stderr).toMatch(/self-signed certificate|unable to verify/);
  }, 120_000);
});
