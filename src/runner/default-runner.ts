import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { TrainingRunner } from './types.js';
import { discoverEngine } from './engine-discovery.js';
import { DockerTrainingRunner } from './docker-training-runner.js';
import { SqliteCapacityLedger } from './capacity-ledger.js';
import { join } from 'node:path';
import { createRegistryAuthProvider, dockerConfigPathFromEnv } from './registry-auth/index.js';

/**
 * The runner a CleanRoomsMLLocal gets when none is injected: the first engine that answers, with registry
 * credentials from ECR (the standard AWS credential chain) and the user's Docker config.
 */
export async function createDefaultRunner(opts: { settings: Settings; logger: Logger; env?: NodeJS.ProcessEnv }): Promise<TrainingRunner> {
  const env = opts.env ?? process.env;
  const engine = await discoverEngine({ DOCKER_HOST: env.DOCKER_HOST });
  const registryAuth = createRegistryAuthProvider({
    logger: opts.logger,
    explicit: opts.settings.registryCredentials,
    dockerConfigPath: dockerConfigPathFromEnv(env),
    ecr: { endpoint: opts.settings.ecr.endpoint, registries: opts.settings.ecr.registries },
  });
    // One budget for every process on this data folder, so two of them never oversubscribe the host.
  const capacityLedger = SqliteCapacityLedger.open(join(opts.settings.dataDir, 'capacity.sqlite'));
  return new DockerTrainingRunner({ engine, settings: opts.settings, logger: opts.logger, registryAuth, capacityLedger });
}
