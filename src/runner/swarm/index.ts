import type { Logger } from 'pino';
import type { Settings } from '../../settings.js';
import type { RegistryAuthProvider } from '../image-resolver.js';
import { SwarmCluster, SwarmPlacementError } from './swarm-cluster.js';
import { SwarmTrainingRunner } from './swarm-training-runner.js';

export { SwarmCluster, SwarmPlacementError, LABEL_NODE_ENGINE } from './swarm-cluster.js';
export { SwarmTrainingRunner, type SwarmTrainingRunnerOptions } from './swarm-training-runner.js';
export { swarmRunName } from './swarm-service-spec.js';

/** CRML_ENGINE=swarm: the runner over the swarm whose manager DOCKER_HOST names (checked now, said plainly). */
export async function createSwarmRunner(opts: { settings: Settings; logger: Logger; registryAuth?: RegistryAuthProvider }): Promise<SwarmTrainingRunner> {
  const { dockerHost, sshAuthSock } = opts.settings.engine;
  if (!dockerHost) throw new SwarmPlacementError('CRML_ENGINE=swarm needs DOCKER_HOST to name a manager of the swarm (such as unix:///var/run/docker.sock or ssh://user@manager).');
  const cluster = new SwarmCluster(dockerHost, { SSH_AUTH_SOCK: sshAuthSock });
  await cluster.checkManager();
  return new SwarmTrainingRunner({ cluster, settings: opts.settings, logger: opts.logger, registryAuth: opts.registryAuth });
}
