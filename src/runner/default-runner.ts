import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { TrainingRunner } from './types.js';
import { discoverEngine } from './engine-discovery.js';
import { DockerTrainingRunner } from './docker-training-runner.js';
import { SqliteCapacityLedger } from './capacity-ledger.js';
import { join } from 'node:path';
import { createRegistryAuthProvider } from './registry-auth/index.js';
import { createSwarmRunner } from './swarm/index.js';
import { withEngineTimings } from './engine-timings.js';

/**
 * The runner a CleanRoomsMLLocal gets when none is injected: the first engine that answers, with registry
 * credentials from ECR (the standard AWS credential chain) and the user's Docker config. Where the engine and
 * the Docker config are comes from the settings, read at the edge.
 */
export async function createDefaultRunner(opts: { settings: Settings; logger: Logger }): Promise<TrainingRunner> {
  const { dockerHost, sshAuthSock } = opts.settings.engine;
  const registryAuth = createRegistryAuthProvider({
    logger: opts.logger,
    explicit: opts.settings.registryCredentials,
    dockerConfigPath: opts.settings.dockerConfigPath,
    ecr: { endpoint: opts.settings.ecr.endpoint, registries: opts.settings.ecr.registries },
  });
  // CRML_ENGINE=swarm: each instance a service of the swarm DOCKER_HOST manages (src/runner/swarm).
  if (opts.settings.placement === 'swarm') return createSwarmRunner({ settings: opts.settings, logger: opts.logger, registryAuth });
  const engine = withEngineTimings(await discoverEngine({ DOCKER_HOST: dockerHost, SSH_AUTH_SOCK: sshAuthSock }), opts.logger);
  // One budget for every process on this data folder, so two of them never oversubscribe the host.
  const capacityLedger = SqliteCapacityLedger.open(join(opts.settings.dataDir, 'capacity.sqlite'));
  return new DockerTrainingRunner({ engine, settings: opts.settings, logger: opts.logger, registryAuth, capacityLedger });
}
