import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { TrainingRunner } from './types.js';
import { discoverEngine } from './engine-discovery.js';
import { DockerTrainingRunner } from './docker-training-runner.js';

/** The runner a CleanRoomsMLLocal gets when none is injected: the first engine that answers. */
export async function createDefaultRunner(opts: { settings: Settings; logger: Logger; env?: NodeJS.ProcessEnv }): Promise<TrainingRunner> {
  const engine = await discoverEngine({ DOCKER_HOST: (opts.env ?? process.env).DOCKER_HOST });
  return new DockerTrainingRunner({ engine, settings: opts.settings, logger: opts.logger });
}
