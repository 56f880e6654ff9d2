import { describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHART_COLORS } from '../../src/report/chart-data.js';
import { metricSeries } from '../../src/report/metric-series.js';
import type { CleanRoomsMLLocal } from '../../src/api/service.js';
import { CHANNEL_SHA256, crml, scriptedService, trainAll, type ScriptedRun } from './scripted-runs.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

/** What a hostile container may print, and a hostile caller may pass as a hyperparameter. */
const HOSTILE = [
  '</script><script>window.__pwned = "log"</script>',
  '</SCRIPT ><img src=x onerror="window.__pwned = \'img\'">',
  '<!--<script>window.__pwned = "comment"</script>-->',
  'line\u2028separator\u2029paragraph',
  '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><iframe src="https://example.com/"></iframe>',
];

const RUNS: ScriptedRun[] = [
  {
    name: 'good',
    hyperparameters: { epochs: '5', lr: '0.1', note: '"><script>window.__pwned = "hp"</script>' },
    environment: { API_TOKEN: 'secret-value-never-shown' },
    instanceCount: 2,
    metrics: {
      'train:loss': { 'algo-1': [0.9, 0.6, 0.4, 0.3, 0.25, 0.22], 'algo-2': [0.85, 0.55, 0.42, 0.31, 0.27, 0.2] },
      accuracy: { 'algo-1': [0.4, 0.6, 0.75, 0.8] },
      // One point only: still drawn (as a point).
      'epoch:seconds': { 'algo-2': [12.5] },
    },
    lines: [{ stream: 'stdout', text: 'epoch 1' }, ...HOSTILE.map((text) => ({ stream: 'stdout' as const, text }))],
  },
  {
    name: 'broken',
    hyperparameters: { epochs: '5', lr: '0.5' },
    metrics: { 'train:loss': { 'algo-1': [1.2, 1.5, 3.0] } },
    lines: [
      { stream: 'stdout', text: 'starting' },
      ...HOSTILE.map((text) => ({ stream: 'stderr' as const, text })),
      { stream: 'stderr', text: 'ValueError: the loss diverged' },
    ],
    failure: 'ValueError: the loss diverged </script><script>window.__pwned = "message"</script>',
  },
];

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's chromium; without it (and only outside CI) the browser tests are skipped, saying so. */
const canBrowse = existsSync(CHROMIUM) || Boolean(process.env.CI);
if (!canBrowse) console.warn(`Skipping the HTML reports' browser tests: ${CHROMIUM} is absent (apt-get install chromium); in CI they run.`);

interface DrawnChart {
  title: string;
  series: string[];
  points: number[];
  /** Pixels of each series' colour on the chart's canvas. */
  colorPixels: number[];
  nonBlankPixels: number;
}

/** Opens a page from disk with every network request refused, and reads what each uPlot chart drew. */
async function openOffline(browser: Browser, file: string): Promise<{ page: Page; requested: string[]; errors: string[]; charts: DrawnChart[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requested: string[] = [];
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = pathToFileURL(file).href;
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    requested.push(route.request().url());
    return route.abort();
  });
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as { __crmlReady?: boolean }).__crmlReady === true);
  const charts = await page.evaluate((colors: string[]) => {
    type Chart = { series: { label: string; stroke: unknown }[]; data: (number | null)[][]; ctx: { canvas: { width: number; height: number }; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
    const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return (globalThis as unknown as { __crmlCharts: { title: string; chart: Chart }[] }).__crmlCharts.map(({ title, chart }) => {
      const { width, height } = chart.ctx.canvas;
      const px = chart.ctx.getImageData(0, 0, width, height).data;
      const series = chart.series.slice(1);
      const wanted = series.map((_, i) => rgb(colors[i % colors.length]!));
      const colorPixels = wanted.map(() => 0);
      let nonBlankPixels = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3]! > 0) nonBlankPixels++;
        wanted.forEach((c, k) => {
          if (px[i + 3]! > 200 && Math.abs(px[i]! - c[0]!) < 24 && Math.abs(px[i + 1]! - c[1]!) < 24 && Math.abs(px[i + 2]! - c[2]!) < 24) colorPixels[k]!++;
        });
      }
      return {
        title,
        series: series.map((s) => s.label),
        points: chart.data.slice(1).map((d) => d.filter((v) => v !== null && v !== undefined).length),
        colorPixels,
        nonBlankPixels,
      };
    });
  }, CHART_COLORS);
  return { page, requested, errors, charts };
}

/** The charts a run's metric data calls for: one per metric, one series per host with every point. */
async function expectedCharts(service: CleanRoomsMLLocal, arn: string, label = (host: string) => host) {
  const points = await service.trainedModelMetrics({ membershipIdentifier: service.settings.defaultMembershipId, trainedModelArn: arn });
  const series = metricSeries(points);
  return [...new Set(series.map((s) => s.metric))].map((title) => ({
    title,
    series: series.filter((s) => s.metric === title).map((s) => label(s.host)),
    points: series.filter((s) => s.metric === title).map((s) => s.values.length),
  }));
}

function expectDrawn(charts: DrawnChart[]) {
  for (const c of charts) {
    expect(c.nonBlankPixels, `${c.title}: a drawn canvas`).toBeGreaterThan(1000);
    c.colorPixels.forEach((n, i) => expect(n, `${c.title}: pixels of series ${c.series[i]}`).toBeGreaterThan(10));
  }
}

function expectNoInjection(html: string) {
  // Three scripts: the data (JSON), uPlot and the page's own; nothing a run wrote opened another.
  expect(html.match(/<script/gi)).toHaveLength(3);
  expect(html.match(/<\/script/gi)).toHaveLength(3);
  expect(html).not.toContain('<img');
  expect(html).not.toContain('<!--');
  expect(html).not.toMatch(/[\u2028\u2029]/);
  expect(html).not.toContain('secret-value-never-shown');
}

describe.skipIf(!canBrowse)('crml report --html and crml compare --html in headless Chromium', () => {
  it('draws every metric per host offline, with the facts, and shows hostile log lines as text only', async () => {
    await using service = scriptedService(RUNS);
    const arns = await trainAll(service, RUNS);
    const dir = mkdtempSync(join(tmpdir(), 'crml-report-'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    try {
      for (const name of ['good', 'broken']) {
        const file = join(dir, `${name}.html`);
        const { code, stdout, stderr } = await crml(service.dataDir, ['report', name, '--html', file]);
        expect(stderr).toBe('');
        expect(code).toBe(0);
        expect(stdout).toBe(`${file}\n`);
        const html = readFileSync(file, 'utf8');
        expectNoInjection(html);

        const { page, requested, errors, charts } = await openOffline(browser, file);
        expect(errors).toEqual([]);
        expect(requested).toEqual([]);
        expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
        expect(await page.locator('img, iframe, link').count()).toBe(0);

        expect(charts.map(({ title, series, points }) => ({ title, series, points }))).toEqual(await expectedCharts(service, arns[name]!));
        expectDrawn(charts);

        const text = await page.locator('body').innerText();
        const headings = await page.locator('h2').allInnerTexts();
        expect(headings.slice(0, 8)).toEqual(['Run', 'Status timeline', 'Limits applied', 'Hyperparameters', 'Environment (names only; values are not shown)', 'Channels', 'Artifacts', 'Metrics']);
        expect(text).toContain(CHANNEL_SHA256);
        expect(text).toContain('sha256:' + 'a'.repeat(64));
        expect(await page.locator('section:has(h2:text-is("Status timeline")) th').allInnerTexts()).toEqual(
          ['Status', 'Since', 'After', 'CREATE_PENDING', 'CREATE_IN_PROGRESS', name === 'good' ? 'ACTIVE' : 'CREATE_FAILED'],
        );
        expect(await page.locator('section:has(h2:text-is("Limits applied")) tr').allInnerTexts()).toContain('vCPUs\t2\t2');
        const logs = await page.locator('pre').allTextContents();
        if (name === 'good') {
          expect(text).toContain('API_TOKEN');
          expect(await page.locator('section:has(h2:text-is("Hyperparameters")) td').allTextContents()).toEqual(['5', '0.1', RUNS[0]!.hyperparameters!.note]);
          expect(logs).toHaveLength(1);
          for (const line of HOSTILE) expect(logs[0]).toContain(`algo-1 stdout ${line}`);
          await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
        } else {
          expect(headings).toContain('stderr before the failure (last 6 lines)');
          expect(logs).toHaveLength(2);
          for (const line of HOSTILE) expect(logs[0]).toContain(`algo-1 stderr ${line}`);
          expect(logs[0]).toMatch(/stderr ValueError: the loss diverged$/);
          expect(logs[0]).not.toContain('starting');
          expect(logs[1]).toContain('stdout starting');
          expect(text).toContain(RUNS[1]!.failure);
          await page.screenshot({ path: join(ARTIFACTS, 'report-failed.png'), fullPage: true });
        }
        await page.close();
      }
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('overlays the runs of a comparison: one chart per metric, one series per run and host', async () => {
    await using service = scriptedService(RUNS);
    const arns = await trainAll(service, RUNS);
    const dir = mkdtempSync(join(tmpdir(), 'crml-compare-'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    try {
      const file = join(dir, 'compare.html');
      const { code, stdout, stderr } = await crml(service.dataDir, ['compare', 'good', 'broken', '--html', file]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toBe(`${file}\n`);
      expectNoInjection(readFileSync(file, 'utf8'));

      const { page, requested, errors, charts } = await openOffline(browser, file);
      expect(errors).toEqual([]);
      expect(requested).toEqual([]);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned)).toBeUndefined();

      const good = await expectedCharts(service, arns.good!, (h) => `good · ${h}`);
      const broken = await expectedCharts(service, arns.broken!, (h) => `broken · ${h}`);
      const expected = good.map((c) => {
        const b = broken.find((x) => x.title === c.title);
        return b ? { title: c.title, series: [...c.series, ...b.series], points: [...c.points, ...b.points] } : c;
      });
      expect(expected.find((c) => c.title === 'train:loss')?.series).toEqual(['good · algo-1', 'good · algo-2', 'broken · algo-1']);
      expect(charts.map(({ title, series, points }) => ({ title, series, points }))).toEqual(expected);
      expectDrawn(charts);

      const rows = await page.locator('tr').allInnerTexts();
      expect(rows).toContain('Status\tACTIVE\tCREATE_FAILED');
      expect(rows).toContain('Status code\t-\tALGORITHM_ERROR');
      expect(rows).toContain('lr\t0.1\t0.5');
      expect(rows.some((r) => r.startsWith('epochs'))).toBe(false);
      expect(rows).toContain('train:loss · algo-1\t0.22\t3');
      expect(rows).toContain('train:loss · algo-2\t0.2\t-');
      expect(rows.some((r) => /^Duration\t\d/.test(r))).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'compare.png'), fullPage: true });
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('crml report --html FILE writes the file atomically and never through a link', () => {
  it('replaces a link planted at FILE instead of writing where it points, and refuses a folder', async () => {
    await using service = scriptedService(RUNS);
    await trainAll(service, RUNS.slice(0, 1));
    const dir = mkdtempSync(join(tmpdir(), 'crml-report-links-'));
    try {
      const victim = join(dir, 'victim.txt');
      writeFileSync(victim, 'precious');
      symlinkSync(victim, join(dir, 'report.html'));
      symlinkSync(join(dir, 'nowhere', 'new-file'), join(dir, 'dangling.html'));
      for (const name of ['report.html', 'dangling.html']) {
        const { code, stderr } = await crml(service.dataDir, ['report', 'good', '--html', join(dir, name)]);
        expect(stderr).toBe('');
        expect(code).toBe(0);
        expect(lstatSync(join(dir, name)).isFile()).toBe(true);
        expect(readFileSync(join(dir, name), 'utf8')).toMatch(/^<!doctype html>/);
      }
      expect(readFileSync(victim, 'utf8')).toBe('precious');
      expect(existsSync(join(dir, 'nowhere'))).toBe(false);
      expect(readdirSync(dir).sort()).toEqual(['dangling.html', 'report.html', 'victim.txt']);

      mkdirSync(join(dir, 'folder'));
      const folder = await crml(service.dataDir, ['report', 'good', '--html', join(dir, 'folder')]);
      expect(folder.code).toBe(252);
      expect(folder.stderr).toBe(`crml: --html ${join(dir, 'folder')}: that is a folder; give the name of the HTML file to write, such as report.html.\n`);
      const missing = await crml(service.dataDir, ['report', 'good', '--html', join(dir, 'no', 'such', 'r.html')]);
      expect(missing.code).toBe(252);
      expect(missing.stderr).toBe(`crml: --html ${join(dir, 'no', 'such', 'r.html')}: the folder ${join(dir, 'no', 'such')} does not exist.\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
