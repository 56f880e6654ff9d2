import { realpathSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ChannelSpec } from './channel-spec.js';
import { assertMountableFolder, engineSocketOf, LocalDataError } from './local-data.js';

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
 * mount of the channel's folder at /opt/ml/input/data/<channelName>. A remote engine cannot see that folder:
 * its channels are streamed in (see channelDelivery), so they are not among the mounts.
 */
export function channelMounts(channels: readonly ChannelSpec[], engine: { sharesHostFilesystem: boolean; endpoint: string }): ChannelBindMount[] {
  return channelDelivery(channels, engine, 1).mounts;
}

/** Which channels are bind-mounted into every container, which are streamed in, and which are FIFOs. */
export interface ChannelDelivery {
  mounts: ChannelBindMount[];
  /** ShardedByS3Key channels of a multi-instance run: each host gets its own share through the archive API. */
  streamed: ChannelSpec[];
  /** Pipe mode's data channels: FIFOs <channel>_<epoch> fed from this machine (see pipe-mode.ts). */
  piped: ChannelSpec[];
}

/**
 * The input mode a channel is delivered in. An incremental training channel (a base model's archive) is a
 * folder whatever the job's mode: it is not data to stream (decided).
 */
export function channelInputMode(channel: ChannelSpec, trainingInputMode: 'File' | 'FastFile' | 'Pipe'): 'File' | 'FastFile' | 'Pipe' {
  return channel.contentType === 'application/x-sagemaker-model' ? 'File' : trainingInputMode;
}

/**
 * channelMounts for a run of `instanceCount` instances: a ShardedByS3Key channel cannot be one bind mount when
 * there are several hosts (each sees a different share), so it is streamed instead; everything else is mounted
 * read-only as for one instance. Streamed channels do not need the engine to see this machine's folders.
 */
export function channelDelivery(
  channels: readonly ChannelSpec[],
  engine: { sharesHostFilesystem: boolean; endpoint: string },
  instanceCount: number,
  trainingInputMode: 'File' | 'FastFile' | 'Pipe' = 'File',
): ChannelDelivery {
  const seen = new Set<string>();
  const delivery: ChannelDelivery = { mounts: [], streamed: [], piped: [] };
  for (const c of channels) {
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
    // Checked again at run time, now that the engine is known: a channel stored earlier may hold its socket.
    try {
      const socket = engineSocketOf(engine.endpoint);
      assertMountableFolder(realpathSync(c.hostPath), socket ? [socket] : []);
    } catch (e) {
      if (e instanceof LocalDataError) throw new ChannelMountError(`The data of channel '${c.channelName}' (${c.hostPath}) cannot be given to a container: ${e.message}.`);
      throw e;
    }
    if (channelInputMode(c, trainingInputMode) === 'Pipe') {
      // The FIFOs are made on this machine and reach the container as a bind mount: the engine must share them.
      if (!engine.sharesHostFilesystem) {
        throw new ChannelMountError(
          `Pipe mode needs an engine that sees this machine's files (its FIFOs are made here); the engine at ${engine.endpoint} does not. Use trainingInputMode File or FastFile with it.`,
        );
      }
      delivery.piped.push(c);
      continue;
    }
    // A remote engine cannot see this machine's folders, and a sharded channel of a cluster differs per host:
    // both are streamed into each container through the archive API before it starts.
    if (!engine.sharesHostFilesystem || (instanceCount > 1 && c.s3DataDistributionType === 'ShardedByS3Key')) {
      delivery.streamed.push(c);
      continue;
    }
    delivery.mounts.push({ channelName: c.channelName, hostPath: c.hostPath, containerPath: channelContainerPath(c.channelName), readOnly: true });
  }
  return delivery;
}
