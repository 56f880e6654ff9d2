import { createReadStream } from 'node:fs';
import { posix, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { channelContainerPath } from '../channels/channel-mounts.js';
import { walkChannelFolder, type ChannelFile } from '../channels/local-data.js';

export type { ChannelFile };

/**
 * Every regular file under a channel's folder (the channels' one walker), its relative path '/'-separated and the
 * list sorted by it (code-unit order: the same on every machine).
 */
export async function listChannelFiles(root: string): Promise<ChannelFile[]> {
  const files: ChannelFile[] = [];
  for await (const f of walkChannelFolder(root, { maxEntries: Infinity })) files.push({ ...f, relativePath: f.relativePath.split(sep).join('/') });
  return files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}

/** ShardedByS3Key: file i of the sorted list goes to host i % hostCount; `hostIndex` counts from 0 (algo-1). */
export function shardFor<T>(sortedFiles: readonly T[], hostIndex: number, hostCount: number): T[] {
  return sortedFiles.filter((_, i) => i % hostCount === hostIndex);
}

/** Reads of a MiB: in fs's 64 KiB, each piece is a trip through the tar stream and the engine's socket of its own. */
const READ_CHUNK = 1 << 20;

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
      await pipeline(createReadStream(f.hostPath, { highWaterMark: READ_CHUNK }), pack.entry({ name: posix.join(root, f.relativePath), size: f.size, mode: 0o444, mtime }));
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack as unknown as Readable;
}
