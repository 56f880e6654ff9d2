import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { channelDelivery, channelMounts, ChannelMountError } from '../../src/channels/channel-mounts.js';
import { channelContentHash } from '../../src/channels/channel-content-hash.js';
import type { ChannelSpec } from '../../src/channels/channel-spec.js';

const local = { sharesHostFilesystem: true, endpoint: 'unix:///var/run/docker.sock' };
const channel = (channelName: string, hostPath: string): ChannelSpec => ({ channelName, hostPath, contentType: 'text/csv', s3DataDistributionType: 'FullyReplicated' });

describe('channel mounts', () => {
  it('mount each channel folder read-only at /opt/ml/input/data/<channelName> on a local engine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-channel-'));
    try {
      expect(channelMounts([channel('train', dir), channel('validation.v-1', dir)], local)).toEqual([
        { channelName: 'train', hostPath: dir, containerPath: '/opt/ml/input/data/train', readOnly: true },
        { channelName: 'validation.v-1', hostPath: dir, containerPath: '/opt/ml/input/data/validation.v-1', readOnly: true },
      ]);
      expect(() => channelMounts([channel('..', dir)], local)).toThrow(ChannelMountError);
      expect(() => channelMounts([channel('a/b', dir)], local)).toThrow("Channel name 'a/b' cannot be a folder under /opt/ml/input/data.");
      expect(() => channelMounts([channel('t', dir), channel('t', dir)], local)).toThrow("Channel name 't' is used twice.");
      expect(() => channelMounts([channel('t', 'relative/path')], local)).toThrow(/not at an absolute path/);
      // A remote engine cannot mount this machine's folders: its channels are streamed, none is mounted.
      const remote = { sharesHostFilesystem: false, endpoint: 'tcp://10.0.0.5:2375' };
      expect(channelMounts([channel('t', dir)], remote)).toEqual([]);
      expect(channelDelivery([channel('t', dir)], remote, 1).streamed.map((c) => c.channelName)).toEqual(['t']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deliver data channels as FIFOs in Pipe mode, an incremental model as a folder, and refuse Pipe mode on a remote engine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-channel-'));
    try {
      const model: ChannelSpec = { ...channel('model', dir), contentType: 'application/x-sagemaker-model' };
      const delivery = channelDelivery([channel('train', dir), model], local, 1, 'Pipe');
      expect(delivery.piped.map((c) => c.channelName)).toEqual(['train']);
      expect(delivery.mounts.map((m) => m.channelName)).toEqual(['model']);
      const remote = { sharesHostFilesystem: false, endpoint: 'tcp://10.0.0.5:2375' };
      expect(() => channelDelivery([channel('train', dir)], remote, 1, 'Pipe')).toThrow(
        "Pipe mode needs an engine that sees this machine's files (its FIFOs are made here); the engine at tcp://10.0.0.5:2375 does not. Use trainingInputMode File or FastFile with it.",
      );
      // FastFile is a folder, as File.
      expect(channelDelivery([channel('train', dir)], local, 1, 'FastFile').mounts.map((m) => m.channelName)).toEqual(['train']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hash a channel by its relative paths and contents, not by where it lives', async () => {
    const a = mkdtempSync(join(tmpdir(), 'crml-channel-'));
    const b = mkdtempSync(join(tmpdir(), 'crml-channel-'));
    try {
      for (const d of [a, b]) writeFileSync(join(d, 'x.csv'), '1,2\n');
      expect(await channelContentHash(a)).toBe(await channelContentHash(b));
      writeFileSync(join(b, 'x.csv'), '1,3\n');
      expect(await channelContentHash(a)).not.toBe(await channelContentHash(b));
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
