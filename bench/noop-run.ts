/**
 * The fixed cost of a run: a job that does nothing (`true`), trained through the service, against `docker run --rm`
 * of the same image and command. The product's goal is at most 1.3 times `docker run`, with nothing left behind.
 * The service is warm (opened, engine connected, image present): what is measured is one run, as a CI loop sees it.
 * Run: npm run bench:noop (or npx tsx bench/noop-run.ts [runs]).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanRoomsMLLocal } from '../src/api/service.js';
import { DEFAULT_MEMBERSHIP_ID } from '../src/settings.js';

const RUNS = Number(process.argv[2] ?? 7);
const IMAGE = 'crml-examples/probe:latest';
const ROLE = 'arn:aws:iam::123456789012:role/r';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function dockerRunMs(): number {
  const t0 = performance.now();
  const r = spawnSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', '/bin/true', IMAGE]);
  if (r.status !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  return performance.now() - t0;
}

execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
const dataDir = mkdtempSync(join(tmpdir(), 'crml-bench-'));
const data = mkdtempSync(join(tmpdir(), 'crml-bench-data-'));
const service = new CleanRoomsMLLocal({ settings: { dataDir } });
const runner: number[] = [];
const docker: number[] = [];
let statuses: string[] = [];
try {
  await service.reconciled;
  const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
    name: 'noop', roleArn: ROLE, trainingContainerConfig: { imageUri: IMAGE, entrypoint: ['/bin/true'] },
  });
  const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
    membershipIdentifier: DEFAULT_MEMBERSHIP_ID, configuredModelAlgorithmArn, name: 'noop',
  });
  const { mlInputChannelArn } = await service.createMLInputChannel({
    membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: 'empty', retentionInDays: 1,
    configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
    inputChannel: { roleArn: ROLE, dataSource: { localDataSource: { path: data } } },
  });
  // One of each first: the engine's and Node's caches warm up.
  for (let i = 0; i <= RUNS; i++) {
    const d = dockerRunMs();
    const t0 = performance.now();
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: `noop-${i}`, configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await service.waitForRuns(trainedModelArn);
    const r = performance.now() - t0;
    const { status } = await service.getTrainedModel({ membershipIdentifier: DEFAULT_MEMBERSHIP_ID, trainedModelArn });
    if (i > 0) {
      docker.push(d);
      runner.push(r);
      statuses.push(status);
    }
  }
} finally {
  await service.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
}
const leftovers = execFileSync('docker', ['ps', '-aq', '--filter', 'label=crml.managed=true'], { encoding: 'utf8' }).trim();
statuses = [...new Set(statuses)];
const ratio = median(runner) / median(docker);
console.log(
  JSON.stringify(
    {
      benchmark: 'noop-run',
      runs: RUNS,
      statuses,
      dockerRunMedianMs: Math.round(median(docker)),
      runnerMedianMs: Math.round(median(runner)),
      ratio: Number(ratio.toFixed(3)),
      containersLeft: leftovers ? leftovers.split('\n').length : 0,
      meetsGoals: ratio <= 1.3 && !leftovers && statuses.length === 1 && statuses[0] === 'ACTIVE',
    },
    null,
    2,
  ),
);
