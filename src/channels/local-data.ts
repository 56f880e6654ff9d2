import { constants, realpathSync } from 'node:fs';
import { access, opendir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface LocalDataDescription {
  numberOfFiles: number;
  sizeInBytes: number;
  /** PARQUET when every data file is .parquet, else CSV (the service's default result format). */
  resultFormat: 'CSV' | 'PARQUET';
}

/**
 * A folder that cannot become a channel, and why (worded as an AWS constraint: "Member must …"). `denied`: the
 * caller may not use it (outside the folders a server may serve), rather than the folder being unusable.
 */
export class LocalDataError extends Error {
  override readonly name = 'LocalDataError';
  constructor(
    readonly reason: string,
    readonly denied = false,
  ) {
    super(reason);
  }
}

/** Default bound of a channel walk: files, folders and links all count. */
export const DEFAULT_MAX_CHANNEL_ENTRIES = 1_000_000;

/**
 * Host folders a container must never see, nor any folder holding one: the engine's socket lives under /run
 * (/var/run), and the others are the host's processes, kernel and devices.
 */
const SYSTEM_FOLDERS = ['/proc', '/sys', '/dev', '/run', '/var/run'];

const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/** A path and, when it exists and differs, its real path (so /var/run and /run are both known). */
function withRealPath(p: string): string[] {
  try {
    const real = realpathSync(p);
    return real === p ? [p] : [p, real];
  } catch {
    return [p];
  }
}

/**
 * Refuses a real folder path a container must never get: `/`, a system folder, anything inside one, anything
 * holding one, or anything holding an engine socket named in `engineSockets`.
 */
export function assertMountableFolder(real: string, engineSockets: readonly string[] = []): void {
  if (real === '/') throw new LocalDataError("Member must not be '/' (it holds the host's system folders and the container engine's socket)");
  for (const folder of SYSTEM_FOLDERS.flatMap(withRealPath)) {
    if (inside(real, folder)) throw new LocalDataError(`Member must not be a system folder or inside one (${folder})`);
    if (inside(folder, real)) throw new LocalDataError(`Member must not contain the system folder ${folder}`);
  }
  for (const socket of engineSockets.flatMap(withRealPath)) {
    if (inside(socket, real)) throw new LocalDataError(`Member must not contain the container engine's socket (${socket})`);
  }
}

/**
 * The real path of the folder a caller names for a channel, checked: not empty, an existing folder, mountable
 * (assertMountableFolder). With `roots` (a caller over HTTP), also absolute, without `..`, and, after every
 * link is followed, inside one of the roots (their real paths); with none given, refused outright. Without
 * `roots` (the CLI, the TypeScript API) any other folder is accepted, relative to the working directory.
 */
export async function resolveLocalDataFolder(given: string, opts: { roots?: readonly string[]; engineSockets?: readonly string[] } = {}): Promise<string> {
  if (given.trim() === '') throw new LocalDataError('Member must not be empty (name a folder)');
  if (opts.roots !== undefined) {
    if (opts.roots.length === 0) {
      throw new LocalDataError(
        'localDataSource is not served over HTTP unless crml serve is started with --local-data-root <folder> naming the folders it may serve',
        true,
      );
    }
    if (!isAbsolute(given)) throw new LocalDataError('Member must be an absolute path over HTTP');
    if (given.split(/[\\/]/).includes('..')) throw new LocalDataError("Member must not contain '..' segments over HTTP");
    // Refused before it is looked at, so that a caller learns nothing of folders outside the roots.
    if (!opts.roots.some((r) => inside(resolve(given), r))) throw outsideRoots();
  }
  let real: string;
  try {
    real = await realpath(resolve(given));
  } catch {
    throw new LocalDataError('Member must be an existing folder');
  }
  if (opts.roots !== undefined && !opts.roots.some((r) => inside(real, r))) throw outsideRoots();
  if (!(await stat(real)).isDirectory()) throw new LocalDataError('Member must be an existing folder');
  assertMountableFolder(real, opts.engineSockets);
  return real;
}

const outsideRoots = () =>
  new LocalDataError('Member must be a folder inside one of the folders this server serves (crml serve --local-data-root), links followed', true);

/**
 * Each root's real path, refused like a channel folder would be (a root of `/` would serve everything), and
 * also its name as given when that is a link, so that paths through it pass the check made before any look-up.
 * The name as given can never admit a folder outside: the check after look-up compares real paths, and no real
 * path runs through a link.
 */
export async function resolveLocalDataRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    try {
      out.push(await resolveLocalDataFolder(root));
    } catch (e) {
      throw new LocalDataError(`--local-data-root '${root}': ${(e as Error).message}`);
    }
  }
  for (const root of roots) if (!out.includes(resolve(root))) out.push(resolve(root));
  return out;
}

/** One regular file of a channel folder. */
export interface ChannelFile {
  hostPath: string;
  /** Relative to the channel's folder, with this machine's separator. */
  relativePath: string;
  size: number;
}

const SPECIAL_KINDS: [keyof import('node:fs').Dirent & string, string][] = [
  ['isSocket', 'a unix socket (a container could connect to it)'],
  ['isBlockDevice', 'a block device'],
  ['isCharacterDevice', 'a character device'],
  ['isFIFO', 'a FIFO'],
];

/**
 * Every regular file under a channel's folder, walked asynchronously and bounded: more than `maxEntries`
 * entries, an unreadable entry, or anything but files, folders and links (a socket, a device, a FIFO) is a
 * LocalDataError naming it. Links are neither followed nor listed (inside a container they point into the
 * container). In no particular order: callers sort.
 */
export async function* walkChannelFolder(root: string, opts: { maxEntries?: number } = {}): AsyncGenerator<ChannelFile> {
  // A bound that is not a positive number (NaN from a bad setting) must not turn into no bound at all.
  const max = opts.maxEntries !== undefined && opts.maxEntries > 0 ? opts.maxEntries : DEFAULT_MAX_CHANNEL_ENTRIES;
  const stack = [root];
  let seen = 0;
  const unreadable = (p: string, e: unknown) =>
    new LocalDataError(`Member must be a folder whose every entry can be read; '${p}' cannot (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let handle;
    try {
      handle = await opendir(dir);
    } catch (e) {
      throw unreadable(dir, e);
    }
    try {
      for await (const entry of handle) {
        seen += 1;
        if (seen > max) throw new LocalDataError(`Member must hold at most ${max} files and folders (setting localDataMaxFiles)`);
        const p = join(dir, entry.name);
        if (entry.isDirectory()) stack.push(p);
        else if (entry.isFile()) {
          let size: number;
          try {
            size = (await stat(p)).size;
            await access(p, constants.R_OK);
          } catch (e) {
            throw unreadable(p, e);
          }
          yield { hostPath: p, relativePath: relative(root, p), size };
        } else if (!entry.isSymbolicLink()) {
          const kind = SPECIAL_KINDS.find(([m]) => (entry[m] as () => boolean).call(entry))?.[1] ?? 'not a file or a folder';
          throw new LocalDataError(`Member must hold only files, folders and links; '${p}' is ${kind}`);
        }
      }
    } catch (e) {
      throw e instanceof LocalDataError ? e : unreadable(dir, e);
    }
  }
}

/** Walks a channel's folder once (no file contents read) to describe it. */
export async function describeLocalData(root: string, opts: { maxEntries?: number } = {}): Promise<LocalDataDescription> {
  let numberOfFiles = 0;
  let sizeInBytes = 0;
  let parquet = 0;
  for await (const f of walkChannelFolder(root, opts)) {
    numberOfFiles += 1;
    sizeInBytes += f.size;
    if (extname(f.hostPath).toLowerCase() === '.parquet') parquet += 1;
  }
  return { numberOfFiles, sizeInBytes, resultFormat: numberOfFiles > 0 && parquet === numberOfFiles ? 'PARQUET' : 'CSV' };
}

/** The unix socket path of an engine endpoint (`unix:///var/run/docker.sock`), if it is one. */
export function engineSocketOf(endpoint: string): string | undefined {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length) || undefined;
  return endpoint.startsWith('/') ? endpoint : undefined;
}
