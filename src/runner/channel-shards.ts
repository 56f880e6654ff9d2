import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { channelContainerPath } from '../channels/channel-mounts.js';

/** One file of a channel: where it is on this machine and its path relative to the channel's folder ('/'-separated). */
export interface ChannelFile {
  hostPath: string;
  relativePath: string;
  size: number;
}

/** Every regular file under a channel's folder, sorted by relative path (code-unit order: the same on every machine). */
export async function listChannelFiles(root: string): Promise<ChannelFile[]> {
  const files: ChannelFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push({ hostPath: p, relativePath: relative(root, p).split(sep).join('/'), size: (await stat(p)).size });
    }
  };
  await walk(root);
  return files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}

/** ShardedByS3Key: file i of the sorted list goes to host i % hostCount; `hostIndex` counts from 0 (algo-1). */
export function shardFor<T>(sortedFiles: readonly T[], hostIndex: number, hostCount: number): T[] {
  return sortedFiles.filter((_, i) => i % hostCount === hostIndex);
}

/**
 * A tar of one host's share of a channel for the engine's archive API (extracted at `/`): the files at
 * /opt/ml/input/data/<channelName>/<relative path>, read-only (0444, folders 0555), each streamed from disk
 * in turn with backpressure, never read whole. A read error destroys the tar stream with that error.
 */
export function channelShardTar(channelName: string, files: readonly ChannelFile[]): Readable {
  const pack = tar.pack();
  const root = channelContainerPath(channelName).replace(/^\//, '');
  const mtime = new Date();
  void (async () => {
    const dirs = new Set<string>();
    const dir = (name: string) => {
      if (dirs.has(name)) return;
      dirs.add(name);
      pack.entry({ name: `${name}/`, type: 'directory', mode: 0o555, mtime });
    };
    dir(root);
    for (const f of files) {
      const parts = f.relativePath.split('/');
      for (let i = 1; i < parts.length; i++) dir(posix.join(root, ...parts.slice(0, i)));
      // pipeline carries the backpressure and ends the entry; a read error rejects and destroys the pack below.
      await pipeline(createReadStream(f.hostPath), pack.entry({ name: posix.join(root, f.relativePath), size: f.size, mode: 0o444, mtime }));
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack as unknown as Readable;
}
