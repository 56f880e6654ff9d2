import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dataDir = mkdtempSync(join(tmpdir(), 'crml-serve-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** `crml serve …` as a user starts it; stopped (by its own pid) once `until` matches its output, or when it exits. */
function crmlServe(args: string[], env: Record<string, string | undefined> = {}, until?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '--data-dir', dataDir, 'serve', '--port', '0', ...args], {
      env: { ...process.env, CRML_ACCESS_KEY_ID: undefined, CRML_SECRET_ACCESS_KEY: undefined, ...env },
    });
    let stdout = '';
    let stderr = '';
    const check = () => {
      if (until && until.test(stdout + stderr)) child.kill('SIGTERM');
    };
    child.stdout.on('data', (c: Buffer) => ((stdout += c.toString()), check()));
    child.stderr.on('data', (c: Buffer) => ((stderr += c.toString()), check()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('crml serve start-up', () => {
  it('refuses a key without a secret, a secret without a key, or an empty one (exit 252), instead of serving unauthenticated', async () => {
    const noSecret = await crmlServe(['--access-key-id', 'AKIDX']);
    expect(noSecret.code).toBe(252);
    expect(noSecret.stderr).toContain('--secret-access-key (or $CRML_SECRET_ACCESS_KEY) is missing or empty');
    expect(noSecret.stdout).not.toContain('listening');
    const emptySecret = await crmlServe([], { CRML_ACCESS_KEY_ID: 'AKIDX', CRML_SECRET_ACCESS_KEY: '' });
    expect(emptySecret.code).toBe(252);
    expect(emptySecret.stderr).toContain('--secret-access-key (or $CRML_SECRET_ACCESS_KEY) is missing or empty');
    const noKey = await crmlServe(['--secret-access-key', 's3cret']);
    expect(noKey.code).toBe(252);
    expect(noKey.stderr).toContain('--access-key-id (or $CRML_ACCESS_KEY_ID) is missing or empty');
    // Refused before the store is opened (opening it would take over dead processes' runs).
    expect(existsSync(join(dataDir, 'store.sqlite'))).toBe(false);
  });

  it('refuses a local data root that is / or a system folder, or does not exist (exit 252)', async () => {
    const slash = await crmlServe(['--local-data-root', '/']);
    expect(slash.code).toBe(252);
    expect(slash.stderr).toContain("--local-data-root '/': Member must not be '/'");
    const missing = await crmlServe(['--local-data-root', join(dataDir, 'nope')]);
    expect(missing.code).toBe(252);
    expect(missing.stderr).toContain('Member must be an existing folder');
  });

  it('warns loudly when it listens beyond loopback without credentials, and not on loopback or with them', async () => {
    const wide = await crmlServe(['--host', '0.0.0.0'], {}, /listening on http/);
    expect(wide.stdout).toContain('listening on http://0.0.0.0:');
    expect(wide.stderr).toContain('WARNING: listening on 0.0.0.0 without credentials');
    const loopback = await crmlServe([], {}, /listening on http/);
    expect(loopback.stderr).not.toContain('WARNING');
    const signed = await crmlServe(['--host', '0.0.0.0'], { CRML_ACCESS_KEY_ID: 'AKIDX', CRML_SECRET_ACCESS_KEY: 's3cret' }, /listening on http/);
    expect(signed.stdout).toContain('(SigV4 required)');
    expect(signed.stderr).not.toContain('WARNING');
  });

  it('says plainly that it cannot listen (a port in use, an unknown host) with exit 252, not an internal error; [::] is ::', async () => {
    const first = createServer();
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
    const port = String((first.address() as AddressInfo).port);
    try {
      const taken = await crmlServe(['--port', port]);
      expect(taken.code).toBe(252);
      expect(taken.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(taken.stderr).not.toContain('internal error');
    } finally {
      first.close();
    }
    const unknown = await crmlServe(['--host', 'no-such-host.invalid']);
    expect(unknown.code).toBe(252);
    expect(unknown.stderr).toContain('cannot listen on no-such-host.invalid:0');
    const bracketed = await crmlServe(['--host', '[::1]'], {}, /listening on http/);
    expect(bracketed.stdout).toContain('listening on http://[::1]:');
  });
});
