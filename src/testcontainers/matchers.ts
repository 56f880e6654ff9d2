import { lstatSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { TrainingResult } from './training-result.js';

/**
 * Matchers for a TrainingResult, for vitest and jest alike: `expect.extend(trainingMatchers)`. Each failure
 * names the run (its status, reason and last log lines), and for a metric its name, value and bound. This module
 * types them for jest (`jest.Matchers`); `./vitest.ts` types them for vitest's `Assertion`.
 */

/** A bound on a metric's final value: `below` and `above` are strict, `between` includes both ends. */
export type MetricBound = { below: number } | { above: number } | { between: [number, number] };

export interface TrainingMatchers<R = unknown> {
  /** The run ended ACTIVE (trained, artifacts written). */
  toBeActive(): R;
  /** The run failed (CREATE_FAILED) with this status code (ALGORITHM_ERROR, …), or a message holding this text or matching this pattern. */
  toHaveFailedWith(expected: string | RegExp): R;
  /** The metric's last value, on every host that reported it (or `host`), is within the bound. */
  toHaveFinalMetric(name: string, bound: MetricBound, opts?: { host?: string }): R;
  /** model.tar.gz holds this file (a path relative to /opt/ml/model). */
  toHaveModelFile(path: string): R;
  /** Some log line contains this text or matches this pattern. */
  toHaveLogLine(pattern: string | RegExp): R;
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

interface MatcherContext {
  isNot?: boolean;
}

const STATUS_CODES = new Set(['ALGORITHM_ERROR', 'OUT_OF_MEMORY', 'MAX_RUNTIME_EXCEEDED', 'IMAGE_PULL_FAILED', 'INTERNAL_ERROR', 'CANCELLED']);

function asResult(received: unknown, matcher: string): TrainingResult {
  // By shape, not by class: a second copy of this package (ESM and a bundler's) makes results of its own class.
  const r = received as Partial<TrainingResult> | null | undefined;
  if (r instanceof TrainingResult || (typeof r?.trainedModelArn === 'string' && typeof r.metrics === 'object' && typeof r.describe === 'function')) {
    return r as TrainingResult;
  }
  throw new TypeError(`${matcher} expects a TrainingResult (from TrainingContainer.run() or job.result()), got ${received === null ? 'null' : typeof received}`);
}

/** "expected … to …" or, under `.not`, "expected … not to …", then the run. */
function result(ctx: MatcherContext, pass: boolean, what: string, run: TrainingResult, detail: string): MatcherResult {
  return {
    pass,
    message: () => `expected the run ${ctx.isNot ? 'not ' : ''}${what}, ${detail}\n${run.describe()}`,
  };
}

function describeBound(bound: MetricBound): string {
  if ('below' in bound) return `below ${bound.below}`;
  if ('above' in bound) return `above ${bound.above}`;
  return `between ${bound.between[0]} and ${bound.between[1]}`;
}

function withinBound(value: number, bound: MetricBound): boolean {
  if ('below' in bound) return value < bound.below;
  if ('above' in bound) return value > bound.above;
  return value >= bound.between[0] && value <= bound.between[1];
}

function textMatches(text: string, pattern: string | RegExp): boolean {
  if (typeof pattern === 'string') return text.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(text);
}

/** Files under `dir`, relative and `/`-separated, at most `limit` of them (for a message). */
function listFiles(dir: string, limit = 20): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (out.length >= limit) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

export const trainingMatchers = {
  toBeActive(this: MatcherContext, received: unknown): MatcherResult {
    const run = asResult(received, 'toBeActive');
    return result(this, run.status === 'ACTIVE', 'to be ACTIVE', run, `but it is ${run.status}`);
  },

  toHaveFailedWith(this: MatcherContext, received: unknown, expected: string | RegExp): MatcherResult {
    const run = asResult(received, 'toHaveFailedWith');
    const failed = run.status === 'CREATE_FAILED';
    const byCode = typeof expected === 'string' && STATUS_CODES.has(expected);
    const pass = failed && (byCode ? run.statusCode === expected : textMatches(run.message ?? '', expected));
    const what = byCode ? `to have failed with ${expected}` : `to have failed with a message ${typeof expected === 'string' ? `holding "${expected}"` : `matching ${expected}`}`;
    const detail = failed ? `but it failed with ${run.statusCode}: ${run.message ?? '(no message)'}` : `but it is ${run.status}`;
    return result(this, pass, what, run, detail);
  },

  toHaveFinalMetric(this: MatcherContext, received: unknown, name: string, bound: MetricBound, opts: { host?: string } = {}): MatcherResult {
    const run = asResult(received, 'toHaveFinalMetric');
    const metric = run.metrics[name];
    const what = `to have a final ${name} ${describeBound(bound)}${opts.host ? ` on ${opts.host}` : ''}`;
    const finals = Object.entries(metric?.final ?? {}).filter(([host]) => !opts.host || host === opts.host);
    if (finals.length === 0) {
      const known = Object.keys(run.metrics);
      return result(this, false, what, run, `but it reported no ${name}${opts.host ? ` on ${opts.host}` : ''} (metrics: ${known.length ? known.join(', ') : 'none'})`);
    }
    const outside = finals.filter(([, v]) => !withinBound(v, bound));
    const shown = (ps: [string, number][]) => ps.map(([host, v]) => (finals.length > 1 || opts.host ? `${v} on ${host}` : String(v))).join(', ');
    // Under .not the message explains the values that were within the bound.
    const detail = outside.length ? `but ${name} was ${shown(outside)}` : `and ${name} was ${shown(finals)}`;
    return result(this, outside.length === 0, what, run, detail);
  },

  toHaveModelFile(this: MatcherContext, received: unknown, path: string): MatcherResult {
    const run = asResult(received, 'toHaveModelFile');
    if (!run.modelDir) return result(this, false, `to have the model file ${path}`, run, 'but it left no model.tar.gz');
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..') || path.startsWith('/')) throw new TypeError(`toHaveModelFile takes a path inside the model folder, got ${path}`);
    const found = (() => {
      try {
        return lstatSync(join(run.modelDir, ...parts)).isFile();
      } catch {
        return false;
      }
    })();
    const files = listFiles(run.modelDir);
    return result(this, found, `to have the model file ${path}`, run, `model.tar.gz holds ${files.length ? files.join(', ') : 'no files'}`);
  },

  toHaveLogLine(this: MatcherContext, received: unknown, pattern: string | RegExp): MatcherResult {
    const run = asResult(received, 'toHaveLogLine');
    const line = run.logs.find((l) => textMatches(l.text, pattern));
    const what = `to have a log line ${typeof pattern === 'string' ? `holding "${pattern}"` : `matching ${pattern}`}`;
    return result(this, line !== undefined, what, run, line ? `and it printed "${line.text}"` : `but none of its ${run.logs.length} lines does`);
  },
};

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // The same type parameters as @types/jest's, which every declaration of an interface must share.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
    interface Matchers<R, T = {}> extends TrainingMatchers<R> {}
  }
}
