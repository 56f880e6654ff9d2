import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ChannelSpec } from '../runner/types.js';

/** Where every channel appears inside a training container (contract §3). */
export const CHANNELS_ROOT = '/opt/ml/input/data';

export interface ChannelBindMount {
  channelName: string;
  hostPath: string;
  containerPath: string;
  readOnly: true;
}

/** A channel that cannot reach the container, named. */
export class ChannelMountError extends Error {
  override readonly name = 'ChannelMountError';
}

/** The model's ModelTrainingDataChannelName pattern; also keeps `..` and `/` out of the container path. */
const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function channelContainerPath(channelName: string): string {
  return `${CHANNELS_ROOT}/${channelName}`;
}

/**
 * How each channel reaches a container. On an engine that shares this machine's filesystem: a read-only bind
 * mount of the channel's folder at /opt/ml/input/data/<channelName>. A remote engine cannot see that folder;
 * streaming the files in is a later step, so such a run is refused with the reason.
 */
export function channelMounts(channels: readonly ChannelSpec[], engine: { sharesHostFilesystem: boolean; endpoint: string }): ChannelBindMount[] {
  const seen = new Set<string>();
  return channels.map((c) => {
    if (!CHANNEL_NAME.test(c.channelName) || c.channelName === '.' || c.channelName === '..') {
      throw new ChannelMountError(`Channel name '${c.channelName}' cannot be a folder under ${CHANNELS_ROOT}.`);
    }
    if (seen.has(c.channelName)) throw new ChannelMountError(`Channel name '${c.channelName}' is used twice.`);
    seen.add(c.channelName);
    if (!isAbsolute(c.hostPath)) throw new ChannelMountError(`The data of channel '${c.channelName}' is not at an absolute path (${c.hostPath}).`);
    let isDirectory = false;
    try {
      isDirectory = statSync(c.hostPath).isDirectory();
    } catch {
      isDirectory = false;
    }
    if (!isDirectory) throw new ChannelMountError(`The data of channel '${c.channelName}' is missing: ${c.hostPath} is not a folder.`);
    if (!engine.sharesHostFilesystem) {
      throw new ChannelMountError(
        `The engine at ${engine.endpoint} is not on this machine, so it cannot mount channel '${c.channelName}' from ${c.hostPath}; ` +
          'channels for remote engines are not supported yet.',
      );
    }
    return { channelName: c.channelName, hostPath: c.hostPath, containerPath: channelContainerPath(c.channelName), readOnly: true };
  });
}
