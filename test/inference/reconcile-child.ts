/**
 * A process that starts an inference job and keeps running it until it is killed (the reconcile test kills it
 * with SIGKILL). Prints the job's ARN once the job is in progress. Usage: tsx reconcile-child.ts <dataDir> <model> <channel>
 */
import { CleanRoomsMLLocal } from '../../src/api/service.js';
import { MEMBERSHIP } from '../helpers/fixtures.js';

const [dataDir, trainedModelArn, channel] = process.argv.slice(2) as [string, string, string];
const service = new CleanRoomsMLLocal({ settings: { dataDir }, reconcile: false });
const { trainedModelInferenceJobArn: arn } = await service.startTrainedModelInferenceJob({
  membershipIdentifier: MEMBERSHIP,
  name: 'orphan',
  trainedModelArn,
  resourceConfig: { instanceType: 'ml.m5.large' },
  outputConfiguration: { members: [{ accountId: '123456789012' }] },
  dataSource: { mlInputChannelArn: channel },
});
for (;;) {
  const job = await service.getTrainedModelInferenceJob({ membershipIdentifier: MEMBERSHIP, trainedModelInferenceJobArn: arn });
  if (job.status === 'CREATE_IN_PROGRESS') break;
  await new Promise((r) => setTimeout(r, 100));
}
process.stdout.write(`${arn}\n`);
await new Promise(() => undefined);
