import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import { CapacityGate } from './capacity-gate.js';
import type { CapacityLedger } from './capacity-ledger.js';
import type { ContainerEngine } from './container-engine.js';
import { ImageResolver, type RegistryAuthProvider } from './image-resolver.js';
import { hostCapacity, type HostCapacity } from './resource-limits.js';

/** What a runner over one engine is built from: the training runner's and the inference runner's common options. */
export interface RunnerResourceOptions {
  engine: ContainerEngine;
  logger: Logger;
  settings: Settings;
  /** Finds or pulls images; by default one over `engine` with settings.pullPolicy and `registryAuth`. */
  imageResolver?: ImageResolver;
  /** Registry credentials for the default image resolver (ECR and others). */
  registryAuth?: RegistryAuthProvider;
  /** What this machine can give containers; measured by default (tests inject a small one). */
  host?: HostCapacity;
  /** The host's budget shared with the other processes on the same data folder (none: this process alone). */
  capacityLedger?: CapacityLedger;
}

/** The host's capacity, the gate over its shared budget and the image resolver, as both runners make them. */
export function runnerResources(opts: RunnerResourceOptions): { host: HostCapacity; capacity: CapacityGate; resolver: ImageResolver } {
  const host = opts.host ?? hostCapacity();
  return {
    host,
    capacity: new CapacityGate({ cpus: host.cpus, memoryBytes: host.memoryBytes }, opts.capacityLedger),
    resolver:
      opts.imageResolver ??
      new ImageResolver({ engine: opts.engine, pullPolicy: opts.settings.pullPolicy, registryAuth: opts.registryAuth, logger: opts.logger }),
  };
}
