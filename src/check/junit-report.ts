import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import type { CheckSuite } from './check-case.js';
import type { CaseResult } from './run-check.js';

// Its types declare an ES default export; at run time (CommonJS) the module itself is the builder.
const junit = ((junitModule as { default?: Builder }).default ?? junitModule) as unknown as Builder;

/**
 * Characters XML 1.0 cannot carry at all, even escaped. A container prints what it likes (ANSI colours, NULs,
 * broken UTF-16): they are written as `\u001b` so that no log line can make the report unreadable.
 */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
export const xmlSafe = (s: string) => s.replace(NOT_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The JUnit XML of a check, as CI systems read it: one testsuite per spec file, one testcase per case; a missed
 * expectation is a failure, a case that could not run an error. Each testcase carries its run's last log lines
 * (system-out), the warnings about AWS (system-err and `warning` properties), the trained model and final metrics.
 */
export function junitReport(suites: readonly CheckSuite[], results: readonly CaseResult[], startedAt: Date): string {
  const builder = junit.newBuilder().name('crml check');
  for (const suite of suites) {
    const mine = results.filter((r) => r.suite === suite);
    const ts = builder
      .testSuite()
      .name(xmlSafe(suite.name))
      .timestamp(startedAt)
      .time(mine.reduce((t, r) => t + r.elapsedSeconds, 0))
      .property('file', xmlSafe(suite.file));
    for (const r of mine) {
      const tc = ts.testCase().className(xmlSafe(suite.name)).name(xmlSafe(r.case.name)).file(xmlSafe(suite.file)).time(r.elapsedSeconds);
      const reasons = r.reasons.map(xmlSafe);
      if (r.outcome === 'failed') tc.failure(reasons.join('; '), 'ExpectationFailed').stacktrace(reasons.join('\n'));
      if (r.outcome === 'error') tc.error(reasons.join('; '), 'CouldNotRun', reasons.join('\n'));
      if (r.trainedModelArn) tc.property('trainedModelArn', r.trainedModelArn);
      if (r.imageUri) tc.property('image', xmlSafe(r.imageUri));
      if (r.status) tc.property('status', r.status);
      if (r.statusCode) tc.property('statusCode', xmlSafe(r.statusCode));
      for (const m of r.finalMetrics) tc.property(`metric.${xmlSafe(m.name)}.${xmlSafe(m.host)}`, String(m.value));
      for (const w of r.warnings) tc.property('warning', xmlSafe(w));
      if (r.logTail.length > 0) tc.standardOutput(xmlSafe(r.logTail.join('\n')));
      if (r.warnings.length > 0) tc.standardError(r.warnings.map((w) => `warning: ${xmlSafe(w)}`).join('\n'));
    }
  }
  return builder.build();
}

/** Writes the report whole or not at all: to a new file beside it, then renamed over the name. */
export function writeJunitReport(file: string, xml: string): void {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.partial`);
  try {
    writeFileSync(temp, xml, { flag: 'wx' });
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}
