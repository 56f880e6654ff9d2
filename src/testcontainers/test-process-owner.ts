import type Docker from 'dockerode';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readFile, readdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ownerAlive, thisProcess, type ProcessOwner } from '../api/run-owner.js';
import type { ContainerEngine } from '../runner/container-engine.js';

/**
 * Which test process a TrainingContainer's containers, networks and temporary folder belong to, so that the next
 * TrainingContainer can remove what a process that died (SIGKILL, a crashed CI runner) left behind, also with
 * Ryuk turned off. The product's own reconciliation cannot: each TrainingContainer has a data folder of its own.
 */

export const LABEL_OWNER_PID = 'crml.testcontainers.pid';
export const LABEL_OWNER_HOST = 'crml.testcontainers.host';
export const LABEL_OWNER_START_TIME = 'crml.testcontainers.start-time';
export const LABEL_DIR = 'crml.testcontainers.dir';

/** Every TrainingContainer's temporary folder starts so; only such folders are ever removed by the sweep. */
export const TEMP_PREFIX = 'crml-testcontainers-';
export const OWNER_FILE = 'owner.json';

/** The labels naming this process and `dir` as the owners of a container or network. */
export function ownerLabels(dir: string, owner: ProcessOwner = thisProcess()): Record<string, string> {
  return {
    [LABEL_OWNER_PID]: String(owner.pid),
    [LABEL_OWNER_HOST]: owner.hostname,
    ...(owner.startTime ? { [LABEL_OWNER_START_TIME]: owner.startTime } : {}),
    [LABEL_DIR]: dir,
  };
}

function ownerOf(labels: Record<string, string> | undefined): ProcessOwner | undefined {
  const pid = Number(labels?.[LABEL_OWNER_PID]);
  const host = labels?.[LABEL_OWNER_HOST];
  if (!Number.isInteger(pid) || pid <= 0 || !host) return undefined;
  return { pid, hostname: host, startTime: labels?.[LABEL_OWNER_START_TIME] };
}

/**
 * Dead, as far as this machine can tell: an owner on another machine sharing the engine is never judged from
 * here (testcontainers' Ryuk, or that machine's next run, handles its leftovers).
 */
function deadHere(owner: ProcessOwner | undefined): boolean {
  return owner !== undefined && owner.hostname === hostname() && !ownerAlive(owner);
}

/** A folder the sweep may remove: one of ours by its name, with its owner file. */
async function removeOwnedDir(dir: string, log: Logger): Promise<boolean> {
  if (!basename(dir).startsWith(TEMP_PREFIX)) return false;
  let owner: ProcessOwner | undefined;
  try {
    owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as ProcessOwner;
  } catch {
    return false;
  }
  if (!deadHere(owner)) return false;
  await rm(dir, { recursive: true, force: true }).catch((e: unknown) => log.warn({ err: e, dir }, 'could not remove a dead test process folder'));
  return true;
}

export interface SweepResult {
  containers: number;
  networks: number;
  folders: number;
}

/**
 * Removes the containers and networks (by our labels) and the temporary folders (by their owner file) of
 * TrainingContainers whose process is dead. A failed removal is logged and the rest goes on.
 */
export async function sweepDeadTestProcesses(opts: { engine: ContainerEngine; dockerode: Docker; log: Logger; tempRoot?: string }): Promise<SweepResult> {
  const { engine, dockerode, log } = opts;
  const result: SweepResult = { containers: 0, networks: 0, folders: 0 };
  const dirs = new Set<string>();
  for (const c of await engine.listContainers(LABEL_OWNER_PID)) {
    if (!deadHere(ownerOf(c.labels))) continue;
    await engine.removeContainer(c.id).then(
      () => (result.containers += 1),
      (e: unknown) => log.warn({ err: e, containerId: c.id }, 'could not remove a dead test process container'),
    );
    if (c.labels[LABEL_DIR]) dirs.add(c.labels[LABEL_DIR]);
  }
  // After the containers: a network with a container attached cannot be removed.
  for (const n of await dockerode.listNetworks({ filters: { label: [LABEL_OWNER_PID] } })) {
    if (!deadHere(ownerOf(n.Labels))) continue;
    await engine.removeNetwork(n.Id).then(
      () => (result.networks += 1),
      (e: unknown) => log.warn({ err: e, network: n.Name }, 'could not remove a dead test process network'),
    );
  }
  const tempRoot = opts.tempRoot ?? tmpdir();
  const names = await readdir(tempRoot).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith(TEMP_PREFIX)) dirs.add(join(tempRoot, name));
  for (const dir of dirs) if (await removeOwnedDir(dir, log)) result.folders += 1;
  return result;
}
