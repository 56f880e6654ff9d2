// Bundles the CLI into dist/bin/ (run by `npm run build`, after tsc): Node then reads a few files instead of
// resolving and compiling some 70 of ours and zod's one by one, which was most of a command's start.
// Lazily imported modules stay lazy (code splitting); native modules, and dockerode (loaded through require on
// first use, see src/runner/dockerode-loader.ts), stay in node_modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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

await build({
  absWorkingDir: root,
  entryPoints: { crml: 'src/cli/bin.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // Native addons (.node files) cannot be bundled; the rest are loaded on demand, and bundling them would only
  // move their cost into a chunk (or, for testcontainers, an optional peer dependency, break).
  external: [
    'better-sqlite3',
    're2',
    '@duckdb/*',
    'dockerode',
    'docker-modem',
    'testcontainers',
    '@aws-sdk/*',
    'pino-pretty',
  ],
  // Bundled CommonJS (pino, commander's deps) calls require() for Node's own modules.
  banner: { js: "import { createRequire as __crmlCreateRequire } from 'node:module'; const require = __crmlCreateRequire(import.meta.url);" },
  // Whitespace and syntax only: identifiers (and so class and function names, which errors carry) stay as written.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});
