import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { until } from './fixtures.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Starts `crml create-trained-model` in a child process of its own process group, as a user would, and returns it
 * with the new ARN (and version identifier, for an incremental one). `run` sets the name, the instance count,
 * extra arguments and environment (CRML_ENGINE, DOCKER_HOST for the swarm).
 */
export async function startRunnerProcess(
  dataDir: string,
  association: string,
  channel: string,
  hyperparameters: Record<string, string>,
  run: { name?: string; instanceCount?: number; extraArgs?: string[]; env?: Record<string, string> } = {},
) {
  const child = spawn(
    'npx',
    [
      'tsx', 'src/cli/bin.ts', 'create-trained-model', '--name', run.name ?? 'killed',
      '--configured-model-algorithm-association-arn', association,
      '--resource-config', JSON.stringify({ instanceType: 'ml.m5.large', volumeSizeInGB: 1, ...(run.instanceCount ? { instanceCount: run.instanceCount } : {}) }),
      '--hyperparameters', JSON.stringify(hyperparameters),
      '--data-channels', JSON.stringify([{ channelName: 'train', mlInputChannelArn: channel }]),
      ...(run.extraArgs ?? []),
    ],
    { cwd: ROOT, env: { ...process.env, CRML_DATA_DIR: dataDir, ...run.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const arn = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ARN from the child: ${out}`)), 60_000);
    child.stdout.on('data', () => {
      // The whole response: a version identifier, when there is one, comes after the ARN.
      const m = /"trainedModelArn": "([^"]+)"[^}]*}/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
  });
  const versionIdentifier = /"versionIdentifier": "([^"]+)"/.exec(out)?.[1] ?? '';
  return { child, arn, versionIdentifier };
}

/**
 * Kills a runner process group (npx, tsx and node) and waits until each of them is gone or a zombie: the next
 * process only takes over runs whose owner is dead, and a SIGKILL is not instant.
 */
export async function killRunner(child: ChildProcess): Promise<void> {
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await until(() =>
    execFileSync('ps', ['-e', '-o', 'pgid=,stat='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .every(([pgid, stat]) => pgid !== String(child.pid) || stat?.startsWith('Z')),
  );
}
