import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startServer } from '../../src/api/http/server.js';
import { boto3Script } from '../helpers/aws-clients.js';
import { DATA_PARALLEL_DATA, DATA_PARALLEL_IMAGE } from '../helpers/data-parallel.js';
import { tempService, trainingSetup } from '../helpers/fixtures.js';
import { leftOnLab, useSwarmLab, MANAGER } from './swarm-lab.js';


useSwarmLab();

describe('boto3 through the HTTP endpoint, with runs placed on the swarm', () => {
  it('trains the 3-instance data-parallel example ACTIVE, unchanged from one engine, and leaves nothing on the lab', async () => {
    await using service = tempService({ settings: { placement: 'swarm', engine: { dockerHost: MANAGER } } });
    // localDataSource is our extension, which boto3's model does not know: the channel is made beside the server.
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service, {
      imageUri: DATA_PARALLEL_IMAGE,
      dataDir: DATA_PARALLEL_DATA,
    });
    const server = await startServer({ service });
    try {
      const seen = (await boto3Script(join(import.meta.dirname, 'boto3_swarm_flow.py'), [server.url, configuredModelAlgorithmAssociationArn, mlInputChannelArn])) as {
        trainedModelArn: string;
        status: string;
        statusDetails?: unknown;
        instanceCount: number;
      };
      expect(seen, JSON.stringify(seen)).toMatchObject({ status: 'ACTIVE', instanceCount: 3 });
      expect(leftOnLab(seen.trainedModelArn)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 240_000);
});
