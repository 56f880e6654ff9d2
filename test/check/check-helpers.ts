import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = join(import.meta.dirname, '../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process (node with tsx's loader), as a CI job runs it. */
export function crml(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/bin.ts'), ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, CRML_LOG_LEVEL: 'warn', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A folder for a test's specs and data, removed on dispose. */
export function tempFolder(): { dir: string; write(name: string, content: string): string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'crml-check-test-'));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ParsedCase {
  name: string;
  classname: string;
  /** failure / error elements, as junitparser reads them. */
  results: { kind: string; message: string | null; type: string | null; text: string | null }[];
  systemOut: string | null;
  systemErr: string | null;
  properties: [string, string][];
}

export interface ParsedSuite {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  cases: ParsedCase[];
}

const READ_JUNIT = `
import json, sys, junitparser
xml = junitparser.JUnitXml.fromfile(sys.argv[1])
suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": [{
    "name": s.name, "tests": s.tests, "failures": s.failures, "errors": s.errors,
    "cases": [{
        "name": c.name, "classname": c.classname,
        "results": [{"kind": type(r).__name__, "message": r.message, "type": r.type, "text": r.text} for r in c.result],
        "systemOut": c.system_out, "systemErr": c.system_err,
        "properties": [[p.get("name"), p.get("value")] for p in c._elem.iter("property")],
    } for c in s],
} for s in suites]}))
`;

/** A JUnit XML file as Debian's python3-junitparser reads it (the parser CI plugins are modelled on). */
export async function readJunit(file: string): Promise<{ tests: number; failures: number; errors: number; suites: ParsedSuite[] }> {
  const r = await run('/usr/bin/python3', ['-c', READ_JUNIT, file], { timeout: 60_000 });
  return JSON.parse(r.stdout);
}
