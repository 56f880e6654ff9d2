// Bundles the CLI into dist/bin/ (run by `npm run build`, after tsc): one CommonJS file, crml-main.cjs, that
// crml.cjs (scripts/cli-loader.cjs) compiles with V8's code cache, so that a command's start neither resolves
// and compiles some 70 of ours and zod's modules one by one nor re-compiles the bundle. Native modules, and
// what only some commands load (the AWS SDK, testcontainers, pino-pretty) stay in node_modules. dockerode is in the
// bundle, so that its ~40 CommonJS modules are compiled from the cache too (see dockerodeInBundle).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bin`;
rmSync(outdir, { recursive: true, force: true });

/**
 * zod re-exports every one of its ~40 locales (`z.locales`), half of its bundled size and so of what Node compiles
 * at start; messages here are the API's own and only English (zod's default) is ever set. Its locales index is
 * replaced by one that exports English alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(dirname(args.importer)), 'locales', 'en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: root,
    }));
  },
};

/**
 * dockerode and docker-modem go into the bundle: loaded one by one from node_modules they cost every run ~40 ms of
 * resolving and compiling. Outside the bundle, src/runner/dockerode-loader.ts defers the two modules a run never
 * needs (BuildKit sessions and the ssh transport, with grpc, protobufjs and ssh2 behind them); here the same is done
 * at build time: the loader becomes a plain require, and each of those modules becomes a stub that requires the
 * real one from node_modules on its first call. BuildKit's progress reader is required inside a function already,
 * so it only stays out.
 */
const lazyModules = {
  'dockerode/lib/session.js': { importer: /[\\/]dockerode[\\/]lib[\\/]docker\.js$/, request: './session' },
  'docker-modem/lib/ssh.js': { importer: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/, request: './ssh' },
};
const dockerodeInBundle = {
  name: 'dockerode-in-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]runner[\\/]dockerode-loader\.ts$/ }, () => ({
      contents: "export const loadDockerode = () => require('dockerode');",
      loader: 'ts',
      resolveDir: root,
    }));
    b.onResolve({ filter: /^\.\/(session|ssh|buildkit)$/ }, (args) => {
      if (args.path === './buildkit') {
        return /[\\/]dockerode[\\/]lib[\\/]/.test(args.importer) ? { path: 'dockerode/lib/buildkit.js', external: true } : undefined;
      }
      const entry = Object.entries(lazyModules).find(([, m]) => m.request === args.path && m.importer.test(args.importer));
      return entry ? { path: entry[0], namespace: 'lazy-module' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-module' }, (args) => ({
      // The real module is external (a require esbuild leaves as it is), resolved from dist/bin/ at its first call.
      contents: `let real; module.exports = function deferred(...args) { real ??= require(${JSON.stringify(`${args.path}#real`)}); return real.apply(this, args); };`,
      loader: 'js',
      resolveDir: root,
    }));
    b.onResolve({ filter: /#real$/ }, (args) => ({ path: args.path.slice(0, -'#real'.length), external: true }));
  },
};

// What both bundles share. One CommonJS file each, not ES module chunks: Node 20 can cache V8's compiled code only
// for a script it compiles itself (vm.Script's cachedData), and ES modules have no such hook. Lazily imported
// modules stay lazy: esbuild wraps each in an init function that runs on first import, and V8 only pre-parses what
// never runs. Whitespace and syntax only are minified: identifiers (and so class and function names, which errors
// carry) stay as written.
const common = {
  absWorkingDir: root,
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { 'crml-main': 'src/cli/bundle-entry.ts' },
  // Native addons (.node files) cannot be bundled; the rest are loaded on demand, and bundling them would only
  // move their cost into the bundle (or, for testcontainers, an optional peer dependency, break).
  external: [
    'better-sqlite3',
    're2',
    '@duckdb/*',
    'testcontainers',
    '@aws-sdk/*',
    'pino-pretty',
  ],
  // A few modules find their own files (createRequire(import.meta.url)); in CommonJS that is the bundle's path.
  define: { 'import.meta.url': '__crmlImportMetaUrl' },
  banner: { js: "const __crmlImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [zodEnglishOnly, dockerodeInBundle],
});

// The resident worker's client, manager and worker (src/cli/daemon): small, Node's own modules only, so that a
// command handed to a worker loads nothing else.
await build({ ...common, entryPoints: { 'crml-daemon': 'src/cli/daemon/index.ts' } });

// The command `bin` names: compiles the bundle with V8's code cache (scripts/cli-loader.cjs says why).
copyFileSync(join(root, 'scripts/cli-loader.cjs'), join(outdir, 'crml.cjs'));
chmodSync(join(outdir, 'crml.cjs'), 0o755);
// The cache itself, from one real command, so that the first run a user makes is already a cached one. V8 caches
// what that command compiled: `crml train` goes through the CLI, the store, the runner and dockerode up to its first
// engine call, which finds no engine (a socket that does not exist) and fails the job (exit 1, expected).
const dataDir = mkdtempSync(join(tmpdir(), 'crml-bundle-'));
try {
  mkdirSync(join(dataDir, 'empty'));
  const args = ['train', '--image', 'crml-bundle/cache:none', '--entrypoint', '/bin/true', '--channel', `train=${join(dataDir, 'empty')}`];
  const env = { ...process.env, CRML_DAEMON: '0', CRML_DATA_DIR: dataDir, DOCKER_HOST: `unix://${join(dataDir, 'no-engine.sock')}` };
  const made = spawnSync(process.execPath, [join(outdir, 'crml.cjs'), ...args], { env, stdio: 'ignore' });
  if (made.status !== 1) throw new Error(`making the code cache: crml train exited ${made.status ?? made.signal}, expected 1 (no engine)`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
