import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';

export const OPT_ML_ROOT = '/opt/ml';
/** Where the config files are, in the container. */
export const CONFIG_FOLDER = `${OPT_ML_ROOT}/input/config`;

/**
 * The /opt/ml tree a container starts with, as a tar for the engine's archive API: writable areas live in
 * the container (never bind mounts of host folders, so no root-owned files land in the user's folders),
 * config files are read-only. Channel folders are not in it: they are the engine's mount points. With no
 * config files, the bare skeleton a skeleton image is made of (skeleton-images.ts).
 */
export function optMlSkeleton(configFiles: Record<string, string>, opts: { dataFolderMounted?: boolean } = {}): Readable {
  const pack = tar.pack();
  const mtime = new Date();
  const dir = (name: string, mode = 0o755) => pack.entry({ name, type: 'directory', mode, mtime });
  // In Pipe mode /opt/ml/input/data is itself a read-only mount (the FIFOs' folder): the engine cannot touch it.
  for (const d of ['opt/', 'opt/ml/', 'opt/ml/input/', ...(opts.dataFolderMounted ? [] : ['opt/ml/input/data/']), 'opt/ml/code/']) dir(d);
  // Writable whatever user the image runs as (an image may set USER): the container is the only one using them.
  for (const d of ['opt/ml/model/', 'opt/ml/output/', 'opt/ml/output/data/', 'opt/ml/checkpoints/']) dir(d, 0o777);
  // Read-only for the job: with every capability dropped, even root cannot add files to a 0555 folder.
  dir('opt/ml/input/config/', 0o555);
  for (const [name, content] of Object.entries(configFiles)) {
    pack.entry({ name: `opt/ml/input/config/${name}`, mode: 0o444, mtime }, content);
  }
  pack.finalize();
  return pack as unknown as Readable;
}

/**
 * The config files in a folder of this machine, for a read-only bind mount at /opt/ml/input/config (a run from
 * a skeleton image): the same names, contents and file modes as in the archive above. Made afresh (whatever was
 * there goes). The folder itself stays writable to its owner, so that removing a run's artifacts never needs
 * root; the mount is what keeps the job from writing.
 */
export async function writeConfigFolder(dir: string, configFiles: Record<string, string>): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [name, content] of Object.entries(configFiles)) await writeFile(join(dir, name), content, { mode: 0o444, flag: 'wx' });
  return dir;
}
