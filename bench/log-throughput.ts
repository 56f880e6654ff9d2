/**
 * Log capture at full container speed (issue 7): a container prints 2,000,000 lines under 40 metric
 * definitions (a few match); the runner's wall time against `docker run` with output to /dev/null, lines per
 * second, the runner's peak memory, and that no line was lost (count and checksum).
 * Run: npm run bench (or npx tsx bench/log-throughput.ts [lines]).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanRoomsMLLocal } from '../src/api/service.js';
import { DEFAULT_MEMBERSHIP_ID } from '../src/settings.js';

const LINES = Number(process.argv[2] ?? 2_000_000);
const IMAGE = 'crml-examples/probe:latest';
// busybox seq prints the lines as fast as the container can write them.
const ENTRYPOINT = ['/bin/sh', '-c', `seq 1 ${LINES} | sed 's/^/step=/; s/0000$/0000 loss=0.5/'`];

function expectedChecksum(): string {
  const h = createHash('sha256');
  for (let i = 1; i <= LINES; i++) h.update(`step=${i}${i % 10000 === 0 ? ' loss=0.5' : ''}\n`);
  return h.digest('hex');
}

function dockerRunMs(): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `docker run --rm --network none --entrypoint /bin/sh ${IMAGE} -c "${ENTRYPOINT[2]}" > /dev/null`]);
  if (r.status !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  return performance.now() - t0;
}

async function runnerMs() {
  const dataDir = mkdtempSync(join(tmpdir(), 'crml-bench-'));
  const data = mkdtempSync(join(tmpdir(), 'crml-bench-data-'));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    // Opening the service reconciles, which also connects to the engine: process start-up is not what is measured.
    const service = new CleanRoomsMLLocal({ settings: { dataDir } });
    await service.reconciled;
    const metricDefinitions = Array.from({ length: 40 }, (_, i) => ({ name: `m${i}`, regex: i < 3 ? `loss=([0-9.]+)` : `metric_${i}=([0-9.]+)` }));
    const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
      name: 'bench', roleArn: 'arn:aws:iam::123456789012:role/r',
      trainingContainerConfig: { imageUri: IMAGE, entrypoint: ENTRYPOINT, metricDefinitions },
    });
    const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
      membershipIdentifier: DEFAULT_MEMBERSHIP_ID, configuredModelAlgorithmArn, name: 'bench',
    });
    const { mlInputChannelArn } = await service.createMLInputChannel({
      membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: 'empty', retentionInDays: 1,
      configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
      inputChannel: { roleArn: 'arn:aws:iam::123456789012:role/r', dataSource: { localDataSource: { path: data } } },
    });
    const t0 = performance.now();
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: 'bench', configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await service.waitForRuns(trainedModelArn);
    const ms = performance.now() - t0;
    const h = createHash('sha256');
    let lines = 0;
    let after = 0;
    for (;;) {
      const page = service.store.readLogLines(trainedModelArn, '', after, 50_000);
      if (page.length === 0) break;
      for (const l of page) {
        h.update(`${l.text}\n`);
        lines += 1;
      }
      after = page[page.length - 1]!.seq;
    }
    const points = service.store.readMetricPoints(trainedModelArn, '').length;
    const { status, statusDetails } = await service.getTrainedModel({ membershipIdentifier: DEFAULT_MEMBERSHIP_ID, trainedModelArn });
    await service.close();
    return { ms, lines, checksum: h.digest('hex'), peakRssMb: peak / 1024 / 1024, points, status, statusDetails };
  } finally {
    clearInterval(sampler);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
const docker = dockerRunMs();
const runner = await runnerMs();
const ok = runner.status === 'ACTIVE' && runner.lines === LINES && runner.checksum === expectedChecksum();
const ratio = runner.ms / docker;
console.log(
  JSON.stringify(
    {
      benchmark: 'log-throughput',
      status: runner.status,
      statusDetails: runner.statusDetails,
      lines: LINES,
      dockerRunMs: Math.round(docker),
      runnerMs: Math.round(runner.ms),
      ratio: Number(ratio.toFixed(3)),
      linesPerSecond: Math.round(LINES / (runner.ms / 1000)),
      peakRssMb: Math.round(runner.peakRssMb),
      metricPoints: runner.points,
      linesLost: LINES - runner.lines,
      checksumMatches: runner.checksum === expectedChecksum(),
      // The goals of issue 7: at most 1.25 times docker run, under 200 MB, nothing lost.
      meetsGoals: ratio <= 1.25 && runner.peakRssMb < 200 && ok,
    },
    null,
    2,
  ),
);
if (!ok) process.exitCode = 1;
