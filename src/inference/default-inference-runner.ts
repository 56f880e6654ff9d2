import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import { discoverEngine } from '../runner/engine-discovery.js';
import { createRegistryAuthProvider } from '../runner/registry-auth/index.js';
import { DockerInferenceRunner } from './docker-inference-runner.js';
import type { InferenceRunner } from './types.js';

/** The inference runner a CleanRoomsMLLocal gets when none is injected: the first engine that answers, as for training. */
export async function createDefaultInferenceRunner(opts: { settings: Settings; logger: Logger }): Promise<InferenceRunner> {
  const { dockerHost, sshAuthSock } = opts.settings.engine;
  const engine = await discoverEngine({ DOCKER_HOST: dockerHost, SSH_AUTH_SOCK: sshAuthSock });
  const registryAuth = createRegistryAuthProvider({
    logger: opts.logger,
    explicit: opts.settings.registryCredentials,
    dockerConfigPath: opts.settings.dockerConfigPath,
    ecr: { endpoint: opts.settings.ecr.endpoint, registries: opts.settings.ecr.registries },
  });
  return new DockerInferenceRunner({ engine, settings: opts.settings, logger: opts.logger, registryAuth });
}
