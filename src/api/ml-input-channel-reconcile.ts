import { rm } from 'node:fs/promises';
import type { ServiceContext } from './service-context.js';
import { nowIso } from './service-context.js';
import { ownerAlive, thisProcess } from './run-owner.js';
import { channelDataDir, runChannelQuery, ML_INPUT_CHANNEL_KIND as KIND, type MLInputChannelRecord } from './operations/ml-input-channels.js';
import { removeMaterializedData } from '../channels/sql/materialized-data.js';

/** A query whose process died this many times is not started again: it may be what kills its process. */
const MAX_QUERY_ATTEMPTS = 2;

/**
 * Takes over SQL channels left CREATE_PENDING by a process that died: the query runs again from the start, here
 * (what the dead process wrote is removed first); a query whose process died twice fails CREATE_FAILED instead.
 * Never throws: a channel that cannot be taken over must not stop trained models from being reconciled.
 */
export async function reconcileMLInputChannels(ctx: ServiceContext): Promise<void> {
  const log = ctx.logger.child({ reconcile: true });
  try {
    const orphans = ctx.store
      .listByStatus<MLInputChannelRecord>(KIND, ['CREATE_PENDING'])
      .filter((r) => r.body.inputChannel.dataSource.protectedQueryInputParameters && !ownerAlive(r.body.query?.owner));
    for (const r of orphans) {
      // Claimed in one transaction, so that two processes opening the store do not both take it.
      let claimed: MLInputChannelRecord | undefined;
      ctx.store.update<MLInputChannelRecord>(KIND, r.arn, '', (cur) => {
        if (cur.body.status !== 'CREATE_PENDING' || ownerAlive(cur.body.query?.owner)) return { body: cur.body };
        const attempts = (cur.body.query?.attempts ?? 1) + 1;
        claimed =
          attempts > MAX_QUERY_ATTEMPTS
            ? {
                ...cur.body,
                status: 'CREATE_FAILED',
                statusDetails: {
                  statusCode: 'INTERNAL_ERROR',
                  message:
                    `The process running this channel's query ended unexpectedly ${attempts - 1} times, so it was not run again ` +
                    '(a query that needs more memory than the host has can be what ends it: see CRML_SQL_MEMORY_LIMIT).',
                },
                query: undefined,
                updateTime: nowIso(ctx),
              }
            : { ...cur.body, query: { owner: thisProcess(), attempts } };
        return { body: claimed, status: claimed.status };
      });
      if (!claimed) continue;
      const outDir = channelDataDir(ctx, r.arn);
      // Whatever the dead process wrote is partial: no channel keeps it.
      await removeMaterializedData(outDir);
      await rm(`${outDir}.tmp`, { recursive: true, force: true });
      if (claimed.status === 'CREATE_FAILED') {
        log.warn({ mlInputChannelArn: r.arn }, 'failing an ML input channel whose query process died again');
        continue;
      }
      log.warn({ mlInputChannelArn: r.arn }, 'running again the query of an ML input channel whose process is gone');
      ctx.background(runChannelQuery(ctx, r.arn, claimed.inputChannel.dataSource.protectedQueryInputParameters!));
    }
  } catch (e) {
    log.error({ err: e }, 'could not reconcile ML input channels');
  }
}
