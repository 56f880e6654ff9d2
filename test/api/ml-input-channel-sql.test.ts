import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBERSHIP, ROLE_ARN, tempService } from '../helpers/fixtures.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import { resourceIdOfArn } from '../../src/api/arns.js';

/** A SQL channel over the service, waited for: its final GetMLInputChannel. */
async function sqlChannel(service: CleanRoomsMLLocal, queryString: string) {
  const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
    name: 'algo',
    roleArn: ROLE_ARN,
    trainingContainerConfig: { imageUri: 'crml-examples/probe:latest' },
  });
  const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
    membershipIdentifier: MEMBERSHIP,
    configuredModelAlgorithmArn,
    name: 'assoc',
  });
  const { mlInputChannelArn } = await service.createMLInputChannel({
    membershipIdentifier: MEMBERSHIP,
    name: 'sql',
    retentionInDays: 1,
    configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
    inputChannel: { roleArn: ROLE_ARN, dataSource: { protectedQueryInputParameters: { sqlParameters: { queryString }, resultFormat: 'CSV' } } },
  });
  await service.waitForChannels();
  return service.getMLInputChannel({ membershipIdentifier: MEMBERSHIP, mlInputChannelArn });
}

describe('SQL channel limits and refusals, as GetMLInputChannel reports them', () => {
  it('fails CREATE_FAILED naming the time limit and CRML_SQL_TIMEOUT_SECONDS, keeping no data', async () => {
    await using service = tempService({ reconcile: false, settings: { sqlTimeoutMs: 1000 } });
    const channel = await sqlChannel(service, 'SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b');
    expect(channel.status).toBe('CREATE_FAILED');
    expect(channel.statusDetails).toEqual({
      statusCode: 'QUERY_FAILED',
      message: 'The query ran longer than 1 second, the limit set by CRML_SQL_TIMEOUT_SECONDS, and was stopped.',
    });
    expect(existsSync(join(service.dataDir, 'channels', resourceIdOfArn(channel.mlInputChannelArn), 'data'))).toBe(false);
  });

  it('fails CREATE_FAILED naming the result-size limit and CRML_SQL_MAX_RESULT_BYTES', async () => {
    await using service = tempService({ reconcile: false, settings: { sqlMaxResultBytes: 1024 } });
    const channel = await sqlChannel(service, 'SELECT range FROM range(100000)');
    expect(channel.status).toBe('CREATE_FAILED');
    expect(channel.statusDetails?.statusCode).toBe('QUERY_FAILED');
    expect(channel.statusDetails?.message).toMatch(/^The query's result is larger than 1024 bytes .*CRML_SQL_MAX_RESULT_BYTES/);
  });

  it('names a refused file and the data folder’s workspace.json that would allow it', async () => {
    await using service = tempService({ reconcile: false });
    const secret = join(service.dataDir, 'secret.csv');
    writeFileSync(secret, 'x\n1\n');
    const channel = await sqlChannel(service, `SELECT * FROM '${secret}'`);
    expect(channel.status).toBe('CREATE_FAILED');
    expect(channel.statusDetails?.message).toBe(
      `Permission Error: the query may not read "${secret}": it is outside the workspace. A query reads only its tables' files ` +
        `and files under its allowedDirectories; to allow this file, name it as a table in "tables", or its folder in "allowedDirectories", in ${join(service.dataDir, 'workspace.json')}.`,
    );
  });
});
