import type { Logger } from 'pino';
import { EngineError, type ContainerEngine } from './container-engine.js';

/** Pauses before each new wait on a container after the engine's connection was lost. */
const RECONNECT_DELAYS_MS = [1000, 2000, 4000];

/**
 * The container's exit code, waiting again when the connection to the engine is lost (an error with no HTTP
 * answer: the engine restarted, the socket went away) and the container may still run: the run re-attaches
 * to it instead of failing a training that goes on. An answer from the engine (404: the container is gone) or
 * a connection still lost after the last pause fails as before.
 */
export async function waitForExit(engine: ContainerEngine, containerId: string, log: Logger): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await engine.waitContainer(containerId);
    } catch (e) {
      const lost = e instanceof EngineError && e.statusCode === undefined;
      const pause = RECONNECT_DELAYS_MS[attempt];
      if (!lost || pause === undefined) throw e;
      log.warn({ err: e, containerId, pauseMs: pause }, 'lost the engine while waiting for the container: waiting again');
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
