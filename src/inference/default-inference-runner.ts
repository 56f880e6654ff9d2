import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import { discoverEngine } from '../runner/engine-discovery.js';
import { withEngineTimings } from '../runner/engine-timings.js';
import { createRegistryAuthProvider } from '../runner/registry-auth/index.js';
import { join } from 'node:path';
import { SqliteCapacityLedger } from '../runner/capacity-ledger.js';
import { DockerInferenceRunner } from './docker-inference-runner.js';
import type { InferenceRunner } from './types.js';

/** The inference runner a CleanRoomsMLLocal gets when none is injected: the first engine that answers, as for training. */
export async function createDefaultInferenceRunner(opts: { settings: Settings; logger: Logger }): Promise<InferenceRunner> {
  const { dockerHost, sshAuthSock } = opts.settings.engine;
  const engine = withEngineTimings(await discoverEngine({ DOCKER_HOST: dockerHost, SSH_AUTH_SOCK: sshAuthSock }), opts.logger);
  const registryAuth = createRegistryAuthProvider({
    logger: opts.logger,
    explicit: opts.settings.registryCredentials,
    dockerConfigPath: opts.settings.dockerConfigPath,
    ecr: { endpoint: opts.settings.ecr.endpoint, registries: opts.settings.ecr.registries },
  });
  // The same budget as training runs (src/runner/default-runner.ts): one host, one ledger per data folder.
  const capacityLedger = SqliteCapacityLedger.open(join(opts.settings.dataDir, 'capacity.sqlite'));
  return new DockerInferenceRunner({ engine, settings: opts.settings, logger: opts.logger, registryAuth, capacityLedger });
}
