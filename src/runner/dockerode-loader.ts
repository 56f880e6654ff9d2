import { createRequire, Module } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/**
 * Two of dockerode's modules load what a run never needs, eagerly, and they are most of a CLI command's start:
 * its BuildKit session support (`lib/session.js`: @grpc/grpc-js and protobufjs, for image builds, which this
 * project never does) and docker-modem's ssh transport (`lib/ssh.js`: ssh2, for ssh:// engines only). Each is a
 * module exporting one function; it is replaced, before dockerode loads, by a function that loads the real
 * module on its first call and forwards to it. Nothing else changes: an ssh:// engine loads ssh2 when it dials.
 */
function deferModule(path: string): void {
  if (require.cache[path]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const stub = new Module(path);
  stub.filename = path;
  stub.loaded = true;
  stub.exports = function deferred(this: unknown, ...args: unknown[]) {
    if (!real) {
      // Loaded for real, then kept in the cache in the stub's place for anyone who requires it later.
      delete require.cache[path];
      real = require(path) as (...args: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  require.cache[path] = stub;
}

let loaded: typeof Docker | undefined;

/** dockerode, with its BuildKit session and ssh transport loaded on first use (see deferModule). */
export function loadDockerode(): typeof Docker {
  if (loaded) return loaded;
  const main = require.resolve('dockerode');
  deferModule(createRequire(main).resolve('./session.js'));
  deferModule(createRequire(createRequire(main).resolve('docker-modem')).resolve('./ssh.js'));
  loaded = require(main) as typeof Docker;
  return loaded;
}
