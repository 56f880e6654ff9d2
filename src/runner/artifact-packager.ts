import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import type { ContainerEngine } from './container-engine.js';

export interface PackagedArchive {
  path: string;
  entries: number;
  bytes: number;
}

/**
 * Repacks the engine's tar of a folder (entries named `model/…`) into a .tar.gz whose entries are
 * relative to that folder (`model.txt`), the way SageMaker packs model.tar.gz. Links stay links:
 * nothing is followed, so nothing outside /opt/ml can leak in. Streams with backpressure throughout.
 */
export async function packageFolder(engineTar: Readable, destination: string): Promise<PackagedArchive> {
  const extract = tar.extract();
  const pack = tar.pack();
  let entries = 0;
  let bytes = 0;
  const strip = (name: string) => name.replace(/^\.?\/?[^/]+\/?/, '');

  extract.on('entry', (header, stream, next) => {
    // Podman names folders without the trailing `/` Docker gives them: the archive is the same on both.
    const stripped = strip(header.name);
    const name = header.type === 'directory' && stripped !== '' && !stripped.endsWith('/') ? `${stripped}/` : stripped;
    if (name === '') {
      stream.resume();
      stream.on('end', next);
      return;
    }
    const out: tar.Header = { ...header, name };
    if (header.type === 'link' && header.linkname) out.linkname = strip(header.linkname);
    entries += 1;
    bytes += header.size ?? 0;
    const entry = pack.entry(out, (err) => next(err ?? undefined));
    stream.pipe(entry);
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (e) => pack.destroy(e));

  await Promise.all([pipeline(engineTar, extract), pipeline(pack, createGzip(), createWriteStream(destination))]);
  return { path: destination, entries, bytes };
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

export const MODEL_ARTIFACT = 'model.tar.gz';
export const OUTPUT_ARTIFACT = 'output.tar.gz';

/**
 * /opt/ml/model → <dir>/model.tar.gz and /opt/ml/output/data → <dir>/output.tar.gz, straight from the engine's
 * archive stream. Whatever the outcome, what the algorithm left is packaged: a stopped run keeps its partial model.
 */
export async function packageArtifacts(
  engine: ContainerEngine,
  containerId: string,
  dir: string,
): Promise<{ modelArtifactPath?: string; outputArtifactPath?: string }> {
  // Both at once: each is a stream from the engine into its own file.
  const pack = async (path: string, name: string) => {
    const tar = await engine.getArchive(containerId, path);
    return tar ? (await packageFolder(tar, join(dir, name))).path : undefined;
  };
  const [modelArtifactPath, outputArtifactPath] = await Promise.all([pack('/opt/ml/model', MODEL_ARTIFACT), pack('/opt/ml/output/data', OUTPUT_ARTIFACT)]);
  return { ...(modelArtifactPath ? { modelArtifactPath } : {}), ...(outputArtifactPath ? { outputArtifactPath } : {}) };
}

/** The first `maxChars` characters of /opt/ml/output/failure, when the algorithm wrote one. */
export async function readFailureFile(engine: ContainerEngine, containerId: string, maxChars: number): Promise<string | undefined> {
  const tarStream = await engine.getArchive(containerId, '/opt/ml/output/failure');
  return tarStream ? readFirstFile(tarStream, maxChars) : undefined;
}
