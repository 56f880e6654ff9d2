import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { PageModel } from './html-sections.js';
import { PAGE_SCRIPT } from './page-script.js';

const require = createRequire(import.meta.url);

/** uPlot's script and stylesheet from the installed package, read once: the page carries them, it loads nothing. */
let uplot: { js: string; css: string } | undefined;
function uplotAssets(): { js: string; css: string } {
  uplot ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplot;
}

/**
 * JSON that is safe inside a <script> element: `<`, `>` and `&` as \u escapes (so no `</script>` or `<!--` can
 * end or change the element, whatever a log line holds), and U+2028/U+2029, which older parsers take for line ends.
 * JSON.parse reads the escapes back as the same characters.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text for inside <script> or <style> that cannot end the element early (uPlot's own text has no such sequence). */
const rawText = (s: string, tag: 'script' | 'style') => s.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');

/**
 * One self-contained HTML page, in parts to write one after the other: uPlot inlined, the page model inlined as JSON, and a script that builds the page
 * from it. The Content-Security-Policy lets the page load nothing at all, so it opens offline and a string that
 * got through anyway could not fetch or send anything.
 */
export function htmlPage(model: PageModel): string[] {
  const { js, css } = uplotAssets();
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>cleanrooms-ml-local report</title>',
    `<style>${rawText(css, 'style')}</style>`,
    `<style>${PAGE_STYLE}</style>`,
    '</head>',
    '<body>',
    '<main id="crml-page"></main>',
    `<script type="application/json" id="crml-data">${scriptSafeJson(model)}</script>`,
    `<script>${rawText(js, 'script')}</script>`,
    `<script>${rawText(PAGE_SCRIPT, 'script')}</script>`,
    '</body>',
    '</html>',
    '',
  ].map((part, i, parts) => (i < parts.length - 1 ? `${part}\n` : part));
}

const PAGE_STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 22px; margin: 0 0 2px; } .subtitle { color: #5b6475; margin: 0 0 18px; word-break: break-all; }
h2 { font-size: 16px; margin: 26px 0 8px; border-bottom: 1px solid #dde1e8; padding-bottom: 4px; }
table { border-collapse: collapse; } td, th { text-align: left; vertical-align: top; padding: 3px 14px 3px 0; }
th { color: #5b6475; font-weight: 600; } td { word-break: break-word; max-width: 70ch; }
.empty { color: #8a93a3; font-style: italic; }
pre { background: #f5f6f8; padding: 10px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.chart { margin: 8px 0 20px; }
`;
