import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ChannelSpec } from './channel-spec.js';
import { walkChannelFolder } from './local-data.js';

/**
 * One sha256 per channel over its files' relative paths and contents, in path order: equal hashes mean
 * the same data, whatever the folder is called. Files are streamed, never read whole.
 */
export async function channelContentHash(root: string): Promise<string> {
  const files: string[] = [];
  for await (const f of walkChannelFolder(root, { maxEntries: Infinity })) files.push(f.relativePath);
  files.sort();
  const total = createHash('sha256');
  for (const f of files) {
    const h = createHash('sha256');
    await pipeline(createReadStream(join(root, f)), h);
    total.update(`${f}\0${h.digest('hex')}\n`);
  }
  return total.digest('hex');
}

/** Channel name → sha256 of its content, for the run's manifest. */
export async function channelContentHashes(channels: readonly ChannelSpec[]): Promise<Record<string, string>> {
  const entries = await Promise.all(channels.map(async (c) => [c.channelName, await channelContentHash(c.hostPath)] as const));
  return Object.fromEntries(entries);
}
