import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished, pipeline } from 'node:stream/promises';
import { PassThrough, type Readable } from 'node:stream';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import type { ContainerEngine, FilesystemChange } from './container-engine.js';
import { ARTIFACT_FOLDERS, MODEL_ARTIFACT, MODEL_FOLDER, OUTPUT_ARTIFACT, OUTPUT_FOLDER } from './artifact-names.js';
import { parallelGzip } from './parallel-gzip.js';
import type { EmptyInImage } from './skeleton-images.js';

export { MODEL_ARTIFACT, OUTPUT_ARTIFACT };

export interface PackagedArchive {
  path: string;
  entries: number;
  bytes: number;
  /** Entries left out, each with why (devices, FIFOs, names that leave the folder, links to nothing packaged). */
  dropped: string[];
}

/** A folder could not be packaged (disk full, a broken engine stream): names the file and the system's words. */
export class ArtifactPackagingError extends Error {
  override readonly name = 'ArtifactPackagingError';
}

/**
 * gzip at its usual level (6: what `gzip` and `tar czf` use, so the archive and its cost compare with theirs), on
 * several threads at once (parallel-gzip.ts).
 */
const GZIP_LEVEL = 6;

/**
 * A MiB of slack between the stages (the engine's stream, the repacking, gzip in the thread pool): with only
 * the streams' own 16 KiB buffers each stage waited on the next, and a GiB took twice as long as `tar czf`.
 * Still a bounded buffer: backpressure holds, memory stays flat.
 */
const slack = () => new PassThrough({ highWaterMark: 1 << 20 });

const KEPT_TYPES = new Set(['file', 'directory', 'symlink', 'link']);

/** `model/a//b/` → `a/b`; undefined for the folder itself or a name that would leave it (`..`, absolute). */
export function entryName(engineName: string): string | undefined {
  const parts = engineName.split('/').filter((p) => p !== '' && p !== '.');
  // The engine names every entry after the archived folder (`model/…`): that first part goes.
  const rest = parts.slice(1);
  if (rest.length === 0 || rest.includes('..')) return undefined;
  return rest.join('/');
}

/**
 * Repacks the engine's tar of a folder (entries named `model/…`) into a .tar.gz whose entries are relative to
 * that folder (`model.txt`), the way SageMaker packs model.tar.gz. Every header is written afresh from the few
 * fields that matter: the container made these files, so nothing of the engine's headers (PAX path/linkpath,
 * owners, set-id bits) is carried over, names never leave the folder, nothing is stored under a symlink (an
 * extractor would write through it), and only files, folders, symlinks and hard links are kept. Links stay
 * links: nothing is followed. Written to a temporary name and renamed at the end, so a failed packaging never
 * leaves a partial archive where the result goes. Streams with backpressure throughout.
 */
export async function packageFolder(engineTar: Readable, destination: string): Promise<PackagedArchive> {
  const extract = tar.extract();
  const pack = tar.pack();
  const partial = `${destination}.partial`;
  const result: PackagedArchive = { path: destination, entries: 0, bytes: 0, dropped: [] };
  const symlinks = new Set<string>();
  const files = new Set<string>();
  const underSymlink = (name: string) => name.split('/').some((_, i, parts) => i > 0 && symlinks.has(parts.slice(0, i).join('/')));

  const repack = async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = entryName(h.name);
      const drop = (why: string) => void result.dropped.push(`${name ?? h.name}: ${why}`);
      let out: (Partial<tar.Header> & { name: string }) | undefined;
      if (name === undefined) {
        // The folder's own entry goes silently; anything else without a name inside it is reported.
        if (h.name.split('/').filter((p) => p !== '' && p !== '.').length > 1) drop('its name leaves the folder');
      } else if (!KEPT_TYPES.has(h.type)) {
        drop(`a ${h.type}, not a file, folder or link`);
      } else if (underSymlink(name)) {
        drop('inside a symlinked folder');
      } else {
        // Folders end in `/` as tar writes them (Podman's engine names them without).
        out = { name: h.type === 'directory' ? `${name}/` : name, type: h.type, mode: h.mode & 0o777, mtime: h.mtime, uid: 0, gid: 0 };
        if (h.type === 'file') out.size = h.size;
        if (h.type === 'symlink') out.linkname = h.linkname;
        if (h.type === 'link') {
          const target = entryName(h.linkname ?? '');
          if (target === undefined || !files.has(target)) {
            drop('a hard link to nothing packaged');
            out = undefined;
          } else out.linkname = target;
        }
      }
      if (!out) {
        entry.resume();
        continue;
      }
      if (h.type === 'symlink') symlinks.add(name!);
      if (h.type === 'file') files.add(name!);
      result.entries += 1;
      result.bytes += out.size ?? 0;
      await pipeline(entry, pack.entry(out));
    }
    pack.finalize();
  };

  const streams = [engineTar, extract, pack];
  try {
    await Promise.all([
      pipeline(engineTar, slack(), extract),
      pipeline(pack, slack(), parallelGzip({ level: GZIP_LEVEL }), createWriteStream(partial, { highWaterMark: 1 << 20 })),
      repack(),
    ].map((p) => p.catch((e: unknown) => {
      // The first failure ends every stream, so nothing waits forever on a stream that will never move.
      for (const s of streams) s.destroy(e as Error);
      throw e;
    })));
    await rename(partial, destination);
  } catch (e) {
    await rm(partial, { force: true });
    throw new ArtifactPackagingError(`cleanrooms-ml-local could not write ${destination}: ${(e as Error).message}`, { cause: e });
  }
  return result;
}

/** The first `maxChars` characters of the only file in an engine tar (e.g. /opt/ml/output/failure). */
export async function readFirstFile(engineTar: Readable, maxChars: number): Promise<string | undefined> {
  const extract = tar.extract();
  let text: string | undefined;
  extract.on('entry', (header, stream, next) => {
    if (header.type !== 'file' || text !== undefined) {
      stream.resume();
      stream.on('end', next);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // Read at most what is needed (4 bytes per character at worst), drain the rest.
    stream.on('data', (data: unknown) => {
      const c = data as Buffer;
      if (size < maxChars * 4) {
        chunks.push(c);
        size += c.length;
      }
    });
    stream.on('end', () => {
      text = [...Buffer.concat(chunks).toString('utf8')].slice(0, maxChars).join('');
      next();
    });
  });
  await pipeline(engineTar, extract);
  return text;
}


/**
 * Folders left empty, known from the container's changes without reading them back: one the container added
 * and wrote nothing under (the image had no such path), or one `emptyInImage` names (empty in a skeleton image)
 * where nothing at or under it changed. Anything else (a folder the image had, one with entries) is read from
 * the engine.
 */
export function emptyFolders(changes: readonly FilesystemChange[], folders: readonly string[], emptyInImage: readonly string[] = []): Set<string> {
  const empty = new Set<string>();
  for (const f of folders) {
    const under = changes.some((c) => c.path.startsWith(`${f}/`));
    const at = changes.find((c) => c.path === f);
    if (under) continue;
    if (at?.kind === 'added' || (!at && emptyInImage.includes(f))) empty.add(f);
  }
  return empty;
}


/** An archive with no entries, as the engine's archive of an empty folder packages (its own entry goes). */
function emptyTar(): Readable {
  const pack = tar.pack();
  pack.finalize();
  return pack as unknown as Readable;
}

export interface PackageOptions {
  /** Told of entries left out, one note per archive. */
  onDropped?: (note: string) => void;
  /** Artifact folders empty in the image the container started from (a skeleton image). */
  emptyInImage?: readonly EmptyInImage[];
  /** Called once nothing more is read from the engine (the folders' looks, and each archive's stream to its end). */
  onEngineDone?: () => void;
}

/**
 * Which artifact folders the container left empty, as cheaply as the engine can tell: when both were empty in
 * the image with a known time, their times (two stats, a few milliseconds); otherwise its changes (the engine
 * walks the container's layer: 10-20 ms, the largest part of a no-op run's end). A folder whose time moved, or
 * whose look failed, is read back: never wrongly empty.
 */
async function foldersLeftEmpty(engine: ContainerEngine, containerId: string, emptyInImage: readonly EmptyInImage[]): Promise<Set<string>> {
  const folders = ARTIFACT_FOLDERS;
  const timed = new Map(emptyInImage.flatMap((f) => (f.mtime ? [[f.path, f.mtime] as const] : [])));
  if (engine.pathModified && folders.every((f) => timed.has(f))) {
    const now = await Promise.all(folders.map((f) => engine.pathModified!(containerId, f).catch(() => undefined)));
    return new Set(folders.filter((f, i) => now[i] === timed.get(f)));
  }
  // Unknown changes (the call failed) read both folders back.
  const changes = await engine.changes(containerId).catch(() => undefined);
  return changes ? emptyFolders(changes, folders, emptyInImage.map((f) => f.path)) : new Set<string>();
}

/**
 * /opt/ml/model → <dir>/model.tar.gz and /opt/ml/output/data → <dir>/output.tar.gz, straight from the engine's
 * archive stream. Whatever the outcome, what the algorithm left is packaged: a stopped run keeps its partial model.
 * A folder the container left empty (foldersLeftEmpty) is packaged without reading it back, since each archive
 * read costs the engine a process of its own (tens of milliseconds, most of a no-op run's tail).
 */
export async function packageArtifacts(
  engine: ContainerEngine,
  containerId: string,
  dir: string,
  { onDropped = () => undefined, emptyInImage = [], onEngineDone }: PackageOptions = {},
): Promise<{ modelArtifactPath?: string; outputArtifactPath?: string }> {
  const empty = await foldersLeftEmpty(engine, containerId, emptyInImage);
  // Each archive read to its end (or failed): never rejects, so onEngineDone comes on every path.
  const reads: Promise<unknown>[] = [];
  // Both at once: each is a stream from the engine into its own file.
  const pack = async (path: string, name: string) => {
    const read = empty.has(path) ? undefined : engine.getArchive(containerId, path);
    if (read) reads.push(read.then((t) => t && finished(t)).catch(() => undefined));
    const tar = read ? await read : emptyTar();
    if (!tar) return undefined;
    const packaged = await packageFolder(tar, join(dir, name));
    if (packaged.dropped.length > 0) {
      const shown = packaged.dropped.slice(0, 20).join('; ');
      const more = packaged.dropped.length > 20 ? ` and ${packaged.dropped.length - 20} more` : '';
      onDropped(`${name}: left out ${packaged.dropped.length} entr${packaged.dropped.length === 1 ? 'y' : 'ies'} of ${path}: ${shown}${more}.`);
    }
    return packaged.path;
  };
  const both = Promise.all([pack(MODEL_FOLDER, MODEL_ARTIFACT), pack(OUTPUT_FOLDER, OUTPUT_ARTIFACT)]);
  // Each pack() asked for its archive before its first await: `reads` is complete here.
  void Promise.all(reads).then(() => onEngineDone?.());
  const [modelArtifactPath, outputArtifactPath] = await both;
  return { ...(modelArtifactPath ? { modelArtifactPath } : {}), ...(outputArtifactPath ? { outputArtifactPath } : {}) };
}

/** The first `maxChars` characters of /opt/ml/output/failure, when the algorithm wrote one. */
export async function readFailureFile(engine: ContainerEngine, containerId: string, maxChars: number): Promise<string | undefined> {
  const tarStream = await engine.getArchive(containerId, '/opt/ml/output/failure');
  return tarStream ? readFirstFile(tarStream, maxChars) : undefined;
}
