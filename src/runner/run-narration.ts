import { CHANNELS_ROOT, type ChannelDelivery } from '../channels/channel-mounts.js';
import { shardFor, type ChannelFile } from './channel-shards.js';
import type { RunEvents } from './types.js';

/**
 * The runner's own lines in a run's log, so a user reading the logs sees what was decided for the run: how the
 * data reaches the containers, the cluster's hosts, why the other instances were stopped.
 */

/** A line of the runner's own in the run's log (stderr, marked as ours). */
export function runnerLine(events: RunEvents, host: string, text: string): void {
  events.onLogLine({ time: new Date(), stream: 'stderr', host, text: `[cleanrooms-ml-local] ${text}` });
}

export function clusterLine(hosts: readonly string[], network: string): string {
  return `instanceCount ${hosts.length}: hosts ${hosts.join(', ')} on an internal network of their own (${network}).`;
}

export function peerFailedLine(host: string, exitCode: number): string {
  return `${host} exited with code ${exitCode}: stopping the other instances.`;
}

/** What the run's log says about each channel: streamed (with each host's share), a FIFO, or mounted. */
export function channelLines(delivery: ChannelDelivery, shares: Map<string, ChannelFile[]>, hosts: string[]): string[] {
  const lines = delivery.streamed.map((c) => {
    const all = shares.get(c.channelName) ?? [];
    if (c.s3DataDistributionType !== 'ShardedByS3Key' || hosts.length === 1) {
      return `Channel '${c.channelName}' (${c.s3DataDistributionType}): streamed into the container${hosts.length > 1 ? 's' : ''}, all ${all.length} files (the engine cannot see this machine's folders).`;
    }
    return `Channel '${c.channelName}' (ShardedByS3Key): streamed, a share of its ${all.length} files per host (${sharesPerHost(all, hosts)}).`;
  });

  for (const c of delivery.piped) {
    const all = shares.get(c.channelName) ?? [];
    const bytes = all.reduce((sum, f) => sum + f.size, 0);
    const share =
      c.s3DataDistributionType === 'ShardedByS3Key' && hosts.length > 1
        ? `a share of its ${all.length} files per host (${sharesPerHost(all, hosts)})`
        : `its ${all.length} files (${bytes} bytes)`;
    lines.push(`Channel '${c.channelName}' (Pipe mode): the FIFO ${CHANNELS_ROOT}/${c.channelName}_0 streams ${share}, again as ${c.channelName}_1, _2 … for each further epoch.`);
  }
  for (const m of delivery.mounts) lines.push(`Channel '${m.channelName}' (FullyReplicated): mounted read-only, every file on every host.`);
  return lines;
}

/** "algo-1 4, algo-2 3, …": how many of a sharded channel's files each host gets. */
function sharesPerHost(all: readonly ChannelFile[], hosts: string[]): string {
  return hosts.map((h, i) => `${h} ${shardFor(all, i, hosts.length).length}`).join(', ');
}
