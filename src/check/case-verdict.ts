import type { MetricBound } from './check-spec.js';
import type { CaseExpectations } from './check-case.js';
import type { ArchiveLookup } from './model-archive-entries.js';
import { describeMatcher, type LogScan } from './log-scan.js';

/** What a finished run showed, as far as a case's expectations look at it. */
export interface RunFacts {
  status: string;
  statusCode?: string;
  statusMessage?: string;
  /** From the container's start to its end; none when it never started. */
  trainingSeconds?: number;
  /** The last value of each metric on each host. */
  finalMetrics: { name: string; host: string; value: number }[];
  /** None: the run left no model.tar.gz. */
  model?: ArchiveLookup;
  logs: LogScan;
}

/** The last point of each metric on each host, in the order the metrics first appeared. */
export function finalMetricValues(points: readonly { name: string; host: string; value: number }[]): RunFacts['finalMetrics'] {
  const last = new Map<string, { name: string; host: string; value: number }>();
  for (const p of points) last.set(`${p.name}\u0000${p.host}`, { name: p.name, host: p.host, value: p.value });
  return [...last.values()];
}

const number = (v: number) => String(Number(v.toPrecision(6)));

/** Why a value misses its bound, or undefined when it meets it (below and above are strict, between inclusive). */
export function boundMiss(value: number, bound: MetricBound): string | undefined {
  if (bound.between && !(value >= bound.between[0] && value <= bound.between[1])) return `not between ${number(bound.between[0])} and ${number(bound.between[1])}`;
  if (bound.below !== undefined && !(value < bound.below)) return `not below ${number(bound.below)}`;
  if (bound.above !== undefined && !(value > bound.above)) return `not above ${number(bound.above)}`;
  return undefined;
}

function statusLine(f: RunFacts): string {
  const details = [f.statusCode, f.statusMessage?.split('\n')[0]].filter(Boolean).join(': ');
  return `${f.status}${details ? ` (${details})` : ''}`;
}

/** Every expectation the run missed, each as one sentence; none: the case passed. */
export function caseVerdict(expect: CaseExpectations, f: RunFacts): string[] {
  const reasons: string[] = [];
  if (f.status !== expect.status) reasons.push(`status is ${statusLine(f)}, expected ${expect.status}`);
  if (expect.statusCode !== undefined && f.statusCode !== expect.statusCode) {
    reasons.push(`status code is ${f.statusCode ?? 'none'}, expected ${expect.statusCode}`);
  }
  if (expect.statusMessage !== undefined && !(f.statusMessage ?? '').includes(expect.statusMessage)) {
    reasons.push(`status message ${f.statusMessage ? JSON.stringify(f.statusMessage.split('\n')[0]) : 'is empty'}${f.statusMessage ? ' does not contain' : ', expected one containing'} ${JSON.stringify(expect.statusMessage)}`);
  }
  for (const { name, bound } of expect.metrics) {
    const finals = f.finalMetrics.filter((m) => m.name === name);
    if (finals.length === 0) reasons.push(`metric ${name} was never reported (no log line matched its metric definition)`);
    for (const m of finals) {
      const miss = boundMiss(m.value, bound);
      if (miss) reasons.push(`final ${name} on ${m.host} is ${number(m.value)}, ${miss}`);
    }
  }
  if (expect.maxDurationSeconds !== undefined && f.trainingSeconds !== undefined && f.trainingSeconds > expect.maxDurationSeconds) {
    reasons.push(`training took ${f.trainingSeconds.toFixed(1)} s, more than maxDurationSeconds ${expect.maxDurationSeconds}`);
  }
  if (expect.modelFiles.length > 0) {
    if (!f.model) reasons.push(`the run left no model.tar.gz, expected it to hold ${expect.modelFiles.join(', ')}`);
    else if (f.model.missing.length > 0) {
      const held = f.model.entryCount === 0 ? 'it is empty' : `it holds ${f.model.sample.join(', ')}${f.model.entryCount > f.model.sample.length ? `, … (${f.model.entryCount} entries)` : ''}`;
      reasons.push(`model.tar.gz has no ${f.model.missing.join(', ')} (${held})`);
    }
  }
  for (const m of f.logs.unmatched) reasons.push(`no log line ${m.kind === 'regex' ? 'matched' : 'contains'} ${describeMatcher(m)} (${f.logs.lineCount} line${f.logs.lineCount === 1 ? '' : 's'})`);
  return reasons;
}
