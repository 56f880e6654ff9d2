import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ContainerEngine, ContainerLogs } from './container-engine.js';
import type { PipeFeeder } from './pipe-mode.js';
import type { EmptyInImage } from './skeleton-images.js';

/** One instance of a run: its container and its host name. */
export interface Member {
  containerId: string;
  host: string;
  /** Output attached before start (a fresh run); a re-attached run follows the engine's log instead. */
  output?: ContainerLogs;
}

/**
 * What exists on the engine and on disk for one run: its containers (algo-1 first), the FIFO feeders, their
 * folder and the cluster network. Disposing removes all of it, whatever happened; a fresh run fills it as it
 * provisions, a re-attached run from the containers it found, and both end through the same clean-up.
 */
export class ProvisionedRun implements AsyncDisposable {
  /** Every instance, algo-1 first: its artifacts are the run's. */
  readonly members: Member[] = [];
  readonly feeders: PipeFeeder[] = [];
  /** The cluster network's name, once it exists (or may exist, for a re-attached cluster). */
  network?: string;
  /** The folder of the run's FIFOs, removed with it. */
  pipesFolder?: string;
  /** The folder of the config files bind-mounted into containers of a skeleton image, removed with it. */
  configFolder?: string;
  /** Artifact folders empty in algo-1's image (a skeleton image). */
  emptyInImage?: readonly EmptyInImage[];

  constructor(
    private readonly engine: ContainerEngine,
    private readonly log: Logger,
  ) {}

  get containerIds(): string[] {
    return this.members.map((m) => m.containerId);
  }

  private removed?: Promise<void>;

  /**
   * Removes the containers (once, however often asked): as soon as what they left has been read, so that their
   * removal goes on while the run's results are written rather than after.
   */
  removeContainers(): Promise<void> {
    this.removed ??= (async () => {
      for (const m of this.members) await removeContainerLogged(this.engine, m.containerId, this.log);
    })();
    return this.removed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.removeContainers();
    for (const f of this.feeders) await f.close();
    if (this.pipesFolder) await rm(this.pipesFolder, { recursive: true, force: true });
    if (this.configFolder) await rm(this.configFolder, { recursive: true, force: true });
    if (this.network) await removeNetworkLogged(this.engine, this.network, this.log);
  }
}

/** Removes a container; a failure is logged, never thrown (clean-up goes on with the rest). */
export async function removeContainerLogged(engine: ContainerEngine, containerId: string, log: Logger): Promise<void> {
  await engine.removeContainer(containerId).catch((e: unknown) => log.error({ err: e, containerId }, 'could not remove container'));
}

export async function removeNetworkLogged(engine: ContainerEngine, network: string, log: Logger): Promise<void> {
  await engine.removeNetwork(network).catch((e: unknown) => log.error({ err: e, network }, 'could not remove the cluster network'));
}
