#!/usr/bin/env node
'use strict';
/*
 * The `crml` command (copied to dist/bin/crml.cjs by scripts/bundle-cli.mjs). Node 20 compiles every command's
 * bundle from source on each start, a third of a short command's time, and has no compile cache of its own
 * (module.enableCompileCache came in Node 22). This compiles the bundle as Node's CommonJS loader would, with
 * the code V8 cached beside it. The cache is checked by V8 against the source and its own version and flags; a
 * stale or missing one is ignored and written anew (atomically, and only where the bundle's folder is writable).
 */
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');
const vm = require('node:vm');

const filename = join(__dirname, 'crml-main.cjs');
const cacheFile = join(__dirname, 'crml-main.v8cache');
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(readFileSync(filename, 'utf8')), {
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
      writeFileSync(tmp, script.createCachedData());
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
