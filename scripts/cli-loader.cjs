#!/bin/sh
':' //; [ -z "$NODE_EXTRA_CA_CERTS" ] || { CRML_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export CRML_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"
'use strict';
/*
 * The first two lines are for sh (to JavaScript, line 2 is a string and a comment): run as a command, this file
 * starts Node without NODE_EXTRA_CA_CERTS, kept aside in CRML_NODE_EXTRA_CA_CERTS. Node reads and parses that
 * file at every start, before any script runs (55 ms of a 80 ms start on a machine whose variable names the
 * system's 140 certificates), and this process needs none of it when the command goes to the resident worker,
 * whose Node started with the variable. It is put back below before anything reads the environment, so the
 * command, the worker and any child see it as the user set it; a command that runs in this process runs in a
 * fresh Node with it instead (crml-daemon.cjs), as its TLS (a registry, ECR, an https:// engine) may need it.
 * Only the shell's own built-ins run before Node (no `env`: each process started costs milliseconds here).
 */
const extraCa = process.env.CRML_NODE_EXTRA_CA_CERTS;
delete process.env.CRML_NODE_EXTRA_CA_CERTS;
if (extraCa) process.env.NODE_EXTRA_CA_CERTS = extraCa;
/*
 * The `crml` command (copied to dist/bin/crml.cjs by scripts/bundle-cli.mjs). Node 20 compiles a command's
 * bundle from source on every start, a third of a short command's time, and has no compile cache of its own
 * (module.enableCompileCache came in Node 22). This compiles the bundle as Node's CommonJS loader would, with
 * the code V8 cached beside it. V8 checks a cache against its own version and flags but, of the source, only its
 * length: the cache therefore starts with the SHA-1 of the source it was made from, and one made from any other
 * is not used. A missing or refused cache is written anew at exit (atomically; not where the folder is read-only).
 * Where the command runs (here, or in this user's resident worker, which has loaded the bundle already) is
 * crml-daemon.cjs's to decide (src/cli/daemon).
 */
const { createHash } = require('node:crypto');
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');
const vm = require('node:vm');

const filename = join(__dirname, 'crml-main.cjs');
const cacheFile = join(__dirname, 'crml-main.v8cache');

/** The bundle's exports (main), compiled with the cache. */
function load() {
  const source = readFileSync(filename);
  const stamp = Buffer.from(`${createHash('sha1').update(source).digest('hex')}\n`);
  let cachedData;
  try {
    const file = readFileSync(cacheFile);
    if (file.subarray(0, stamp.length).equals(stamp)) cachedData = file.subarray(stamp.length);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source.toString('utf8')), {
    filename,
    cachedData,
    // `import()` inside the bundle (an optional ES module package) goes to Node's own loader, as in any module.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so that the cache holds the functions this command compiled, not only the top level.
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, Buffer.concat([stamp, script.createCachedData()]));
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only install: every start compiles, as without this loader.
      }
    });
  }
  const bundle = new Module(filename, module);
  bundle.filename = filename;
  bundle.paths = Module._nodeModulePaths(__dirname);
  script.runInThisContext()(bundle.exports, Module.createRequire(filename), bundle, filename, __dirname);
  return bundle.exports;
}

require('./crml-daemon.cjs').start(process.argv.slice(2), {
  load,
  bundlePath: filename,
  entry: join(__dirname, 'crml.cjs'),
  withoutExtraCa: Boolean(extraCa),
});
