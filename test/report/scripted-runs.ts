import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { writeRunManifest } from '../../src/runner/run-manifest.js';
import { runFailed, runSucceeded } from '../../src/runner/run-outcome.js';
import type { AppliedLimits } from '../../src/runner/resource-limits.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';

/** What one scripted run prints and measures: metric values per name and host, one point a second. */
export interface ScriptedRun {
  name: string;
  hyperparameters?: Record<string, string>;
  environment?: Record<string, string>;
  instanceCount?: number;
  metrics: Record<string, Record<string, number[]>>;
  lines?: { stream: 'stdout' | 'stderr'; text: string }[];
  failure?: string;
}

export const LIMITS: AppliedLimits = {
  instanceType: 'ml.m5.large',
  requested: { vcpus: 2, memoryBytes: 8 * 1024 ** 3, gpus: 0 },
  vcpus: 2,
  memoryBytes: 8 * 1024 ** 3,
  gpus: 0,
  shmSizeBytes: 4 * 1024 ** 3,
};
export const CHANNEL_SHA256 = 'c'.repeat(64);

/**
 * A service whose runner plays each run's script (chosen by the trained model's name): its log lines, its metric
 * points and a manifest.json as the Docker runner writes it. No engine needed.
 */
export function scriptedService(runs: ScriptedRun[]) {
  const byName = new Map(runs.map((r) => [r.name, r]));
  const runner = new ScriptedRunner(async (spec, events) => {
    const run = byName.get(spec.name)!;
    const start = Date.now();
    for (const l of run.lines ?? []) events.onLogLine({ time: new Date(), host: 'algo-1', ...l });
    for (const [name, hosts] of Object.entries(run.metrics)) {
      for (const [host, values] of Object.entries(hosts)) {
        values.forEach((value, i) => events.onMetric({ name, value, host, time: new Date(start + i * 1000) }));
      }
    }
    const startedAt = new Date(start);
    const result = run.failure ? runFailed(startedAt, 'ALGORITHM_ERROR', run.failure, { exitCode: 2 }) : runSucceeded(startedAt, { exitCode: 0 });
    await writeRunManifest(spec, result, { limits: LIMITS, channelHashes: { train: CHANNEL_SHA256 } });
    return run.failure ? { succeeded: false, statusCode: 'ALGORITHM_ERROR', message: run.failure, exitCode: 2, limits: LIMITS } : { exitCode: 0, limits: LIMITS };
  });
  return tempService({ runner });
}

/** Trains every run in turn and waits for each to end; returns their ARNs by name. */
export async function trainAll(service: CleanRoomsMLLocal, runs: ScriptedRun[]): Promise<Record<string, string>> {
  const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
  const arns: Record<string, string> = {};
  for (const run of runs) {
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP,
      name: run.name,
      configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1, instanceCount: run.instanceCount ?? 1 },
      hyperparameters: run.hyperparameters,
      environment: run.environment,
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn);
    arns[run.name] = trainedModelArn;
  }
  return arns;
}

/** The CLI as a user runs it, its stdout a pipe (not a terminal). */
export async function crml(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '--data-dir', dataDir, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The CLI in a pseudo-terminal (util-linux `script`), as a user at a terminal sees it. */
export async function crmlInTerminal(dataDir: string, args: string[]): Promise<string> {
  const command = [process.execPath, '--import', 'tsx', 'src/cli/bin.ts', '--data-dir', dataDir, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await promisify(execFile)('script', ['-qec', `stty cols 120; ${command}`, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
