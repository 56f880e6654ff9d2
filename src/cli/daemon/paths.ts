import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where this user's resident worker listens: `$CRML_DAEMON_DIR`, else `$XDG_RUNTIME_DIR/crml`, else
 * `<tmp>/crml-<uid>`, one socket per build of the CLI and Node binary (a rebuilt CLI never talks to an old worker).
 * The folder must be this user's own and closed to everyone else: the socket runs any command with the caller's
 * environment, so anyone who could connect could run commands as this user. Undefined when that cannot be had.
 */
export function socketPath(bundle: string): string | undefined {
  const env = process.env;
  const uid = process.getuid?.() ?? 0;
  const dir = env.CRML_DAEMON_DIR ?? (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'crml') : join(tmpdir(), `crml-${uid}`));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const d = lstatSync(dir);
    if (!d.isDirectory() || d.uid !== uid || (d.mode & 0o077) !== 0) return undefined;
    const b = statSync(bundle);
    const key = createHash('sha1').update(`${process.version}\0${process.execPath}\0${b.ino}\0${b.size}\0${b.mtimeMs}`).digest('hex');
    return join(dir, `${key.slice(0, 16)}.sock`);
  } catch {
    return undefined;
  }
}
