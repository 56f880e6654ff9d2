import { spawn } from 'node:child_process';
import { settledBy, stopGracefully } from '../graceful-stop.js';
import { CredentialHelperError } from './registry-auth-errors.js';

export interface CredentialHelperOptions {
  /** Default 10 s: a helper waiting on a keychain prompt must not hang a run. */
  timeoutMs?: number;
  /** The helper's environment (PATH finds it); default: this process's. Resolved at the edge. */
  env?: NodeJS.ProcessEnv;
}

export interface HelperCredentials {
  username: string;
  secret: string;
}

const KILL_DELAY_MS = 1_000;
const MAX_OUTPUT = 64 * 1024;
/** What docker-credential-helpers print (exit 1) when they hold nothing for the URL. */
const NOT_FOUND = /credentials not found/i;

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin (Docker's credential helper protocol) and
 * returns its Username and Secret, or undefined when it holds nothing for that server.
 */
export async function getFromCredentialHelper(
  helper: string,
  serverUrl: string,
  registryHost: string,
  opts: CredentialHelperOptions = {},
): Promise<HelperCredentials | undefined> {
  const program = `docker-credential-${helper}`;
  const fail = (reason: ConstructorParameters<typeof CredentialHelperError>[3], message: string, cause?: unknown) =>
    new CredentialHelperError(message, registryHost, helper, reason, cause === undefined ? undefined : { cause });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
    throw fail('not-found', `The Docker config names credential helper '${helper}' for ${registryHost}, which is not a valid helper name.`);
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;

  const { code, stdout, stderr, timedOut, spawnError } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
    spawnError?: NodeJS.ErrnoException;
  }>((resolve) => {
    const child = spawn(program, ['get'], { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    const ended = settledBy();
    const timer = setTimeout(() => {
      timedOut = true;
      void stopGracefully({ term: () => void child.kill('SIGTERM'), kill: () => void child.kill('SIGKILL'), ended: ended.promise, gracePeriodMs: KILL_DELAY_MS });
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < MAX_OUTPUT) out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < MAX_OUTPUT) err += d;
    });
    // A helper that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(serverUrl);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      ended.settle();
      resolve({ code: null, stdout: out, stderr: err, timedOut, spawnError: e });
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      ended.settle();
      resolve({ code: c, stdout: out, stderr: err, timedOut });
    });
  });

  if (spawnError) {
    if (spawnError.code === 'ENOENT') {
      throw fail(
        'not-found',
        `The Docker config uses credential helper '${helper}' for ${registryHost}, but ${program} is not on PATH: ` +
          `install it, or remove it from credHelpers/credsStore in the Docker config.`,
        spawnError,
      );
    }
    throw fail('failed', `Could not run ${program} for ${registryHost}: ${spawnError.message}.`, spawnError);
  }
  if (timedOut) {
    throw fail('timeout', `${program} did not answer for ${registryHost} within ${timeoutMs} ms (is it waiting for a keychain unlock?).`);
  }
  if (code !== 0) {
    if (NOT_FOUND.test(stdout) || NOT_FOUND.test(stderr)) return undefined;
    const said = (stderr.trim() || stdout.trim()).slice(0, 500);
    throw fail('failed', `${program} failed for ${registryHost} (exit ${code})${said ? `: ${said}` : ''}.`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch (e) {
    // Never echo the output: it may hold the secret.
    throw fail('invalid-output', `${program} answered for ${registryHost} with output that is not JSON.`, e);
  }
  if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string' || parsed.Secret === '') {
    throw fail('invalid-output', `${program} answered for ${registryHost} without a Username and Secret.`);
  }
  if (parsed.Username === '<token>') {
    throw fail(
      'unsupported',
      `${program} holds an identity token for ${registryHost}, which this runner cannot pass on: log in with a username and password instead.`,
    );
  }
  return { username: parsed.Username, secret: parsed.Secret };
}
