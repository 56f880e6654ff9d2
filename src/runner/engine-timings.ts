import type { Logger } from 'pino';
import type { ContainerEngine } from './container-engine.js';

/**
 * The engine with every call logged at debug level, with its duration (`CRML_LOG_LEVEL=debug`): where a run's
 * time goes on the engine, the first thing to look at when a run is slower than `docker run`. Without debug
 * logging the engine is returned as it is, so the common case pays nothing. `at` is milliseconds since the process
 * started, so a command's own start shows too.
 */
export function withEngineTimings(engine: ContainerEngine, logger: Logger): ContainerEngine {
  if (!logger.isLevelEnabled('debug')) return engine;
  const log = logger.child({ engine: engine.endpoint });
  return new Proxy(engine, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const done = (failed: boolean) => {
          // The first argument names what was acted on (a container id, an image reference), never a secret.
          const on = typeof args[0] === 'string' ? args[0].slice(0, 64) : undefined;
          log.debug({ call: prop, on, at: Math.round(started), ms: Math.round((performance.now() - started) * 10) / 10, failed: failed || undefined }, 'engine call');
        };
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) result.then(() => done(false), () => done(true));
        else done(false);
        return result;
      };
    },
  });
}
