import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { compileUserRegex, UserRegexError } from '../user-regex.js';
import { compileMetricDefinition, translatePythonRegex } from '../runner/metric-definition.js';
import { CheckSpecSchema, type CaseSpec, type ChannelSpec, type CheckSpecFile, type LogLineExpectation } from './check-spec.js';
import type { CaseChannel, CaseExpectations, CaseTraining, CheckCase, CheckSuite, LogLineMatcher } from './check-case.js';
import { expandGrid, gridSize, MAX_GRID_COMBINATIONS } from './hyperparameter-grid.js';

/** A spec that cannot be run: `field` is its path in the file (`cases[1].expect.status`), the message says what is accepted. */
export class CheckSpecError extends Error {
  override readonly name = 'CheckSpecError';
  constructor(
    readonly file: string,
    readonly problems: readonly { field: string; message: string }[],
  ) {
    const said = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
    super(said.length === 1 ? `${file}: ${said[0]}` : `${file} has ${said.length} problems:\n${said.map((s) => `  ${s}`).join('\n')}`);
  }
}

/** A spec is a few kilobytes; this much is a wrong file, and is not read into memory. */
const MAX_SPEC_BYTES = 1024 * 1024;

type Path = readonly PropertyKey[];

/** `cases[1].expect.metrics["train:loss"].below` */
export function fieldPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_]\w*$/.test(String(key))) out += `${out ? '.' : ''}${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** A short description of what the file holds at a path, for "expected …, got …". */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function issueProblem(issue: z.core.$ZodIssue, raw: unknown): { field: string; message: string } {
  // An unknown field's message names it already; every other one says what was found.
  const got = issue.code === 'unrecognized_keys' ? '' : `, got ${describe(valueAt(raw, issue.path))}`;
  return { field: fieldPath(issue.path), message: `${issue.message}${got}` };
}

/** Reads and checks a spec file (YAML, or JSON, which YAML reads too), expanding every grid into its cases. */
export async function loadCheckSpec(file: string): Promise<CheckSuite> {
  const path = resolve(file);
  const fail = (field: string, message: string): never => {
    throw new CheckSpecError(file, [{ field, message }]);
  };
  let source: string;
  try {
    // Looked at before it is opened: opening a FIFO would wait for a writer.
    const found = await stat(path);
    if (!found.isFile()) fail('', 'expected a spec file, got a folder or a special file');
    if (found.size > MAX_SPEC_BYTES) fail('', `expected a spec of at most ${MAX_SPEC_BYTES} bytes, got ${found.size}`);
    source = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof CheckSpecError) throw e;
    return fail('', `cannot read the spec: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(source, { prettyErrors: true });
  } catch (e) {
    return fail('', `not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = CheckSpecSchema.safeParse(raw);
  if (!parsed.success) throw new CheckSpecError(file, parsed.error.issues.map((i) => issueProblem(i, raw)));
  return suiteOf(file, path, parsed.data);
}

function suiteOf(file: string, path: string, spec: CheckSpecFile): CheckSuite {
  const folder = dirname(path);
  const problems: { field: string; message: string }[] = [];
  // A mistake in `defaults` is said once, not once per case.
  const problem = (field: string, message: string) => {
    if (!problems.some((p) => p.field === field && p.message === message)) problems.push({ field, message });
  };
  /** The API's constraint words (`Member must be a valid …`) as this file's (`expected a valid …`). */
  const expected = (constraint: string) => constraint.replace(/^Member must be /, 'expected ');
  const inFolder = (p: string) => (isAbsolute(p) ? p : resolve(folder, p));
  const mustExist = (field: string, p: string, folderOnly: boolean) => {
    if (!existsSync(p)) problem(field, `no such ${folderOnly ? 'folder' : 'file or folder'}: ${p}`);
    else if (folderOnly && !statSync(p).isDirectory()) problem(field, `expected a folder, got a file: ${p}`);
  };

  const cases: CheckCase[] = [];
  const names = new Map<string, string>();
  spec.cases.forEach((own, i) => {
    const at = (field: Exclude<keyof CaseSpec, 'name'>) => (own[field] !== undefined || spec.defaults?.[field] === undefined ? `cases[${i}].${field}` : `defaults.${field}`);
    const c = merged(spec.defaults ?? {}, own);
    const before = problems.length;

    if ((c.image === undefined) === (c.build === undefined)) {
      problem(`cases[${i}]`, c.image === undefined ? 'expected an image or a build folder (here or in defaults)' : 'expected an image or a build folder, not both');
    }
    const build = c.build === undefined ? undefined : typeof c.build === 'string' ? { context: c.build } : c.build;
    if (build) {
      build.context = inFolder(build.context);
      mustExist(at('build'), build.context, true);
    }
    const channels: Record<string, CaseChannel> = {};
    for (const [name, ch] of Object.entries(c.channels ?? {})) {
      channels[name] = resolveChannel(ch, inFolder);
      const p = typeof channels[name] === 'string' ? channels[name] : 'path' in channels[name] ? channels[name].path : undefined;
      if (p !== undefined) mustExist(`${at('channels')}.${name}`, p, false);
    }
    (c.metricDefinitions ?? []).forEach((d, j) => {
      try {
        compileMetricDefinition(d);
      } catch (e) {
        problem(`${at('metricDefinitions')}[${j}].regex`, expected((e as Error).message));
      }
    });
    const defined = new Set((c.metricDefinitions ?? []).map((d) => d.name));
    for (const name of Object.keys(c.expect?.metrics ?? {})) {
      if (!defined.has(name)) {
        problem(`${at('expect')}.${fieldPath(['metrics', name])}`, `no metric definition is named '${name}' (defined: ${[...defined].join(', ') || 'none'})`);
      }
    }
    const logLines = (c.expect?.logLines ?? []).map((l, j) => logLineMatcher(l, `${at('expect')}.logLines[${j}]`, problem));
    const grid = c.grid ?? {};
    if (gridSize(grid) > MAX_GRID_COMBINATIONS) problem(at('grid'), `expected at most ${MAX_GRID_COMBINATIONS} combinations, got ${gridSize(grid)}`);
    if (problems.length > before) return;

    const expect: CaseExpectations = {
      status: c.expect?.status ?? (c.expect?.statusCode ? 'CREATE_FAILED' : 'ACTIVE'),
      statusCode: c.expect?.statusCode,
      statusMessage: c.expect?.statusMessage,
      metrics: Object.entries(c.expect?.metrics ?? {}).map(([name, bound]) => ({ name, bound })),
      maxDurationSeconds: c.expect?.maxDurationSeconds,
      modelFiles: (c.expect?.modelFiles ?? []).map(normalizeArchivePath),
      logLines,
    };
    const base = own.name ?? `case ${i + 1}`;
    for (const point of expandGrid(grid)) {
      const name = point.label ? `${base}[${point.label}]` : base;
      const earlier = names.get(name);
      if (earlier !== undefined) {
        problem(`cases[${i}].name`, `the case name '${name}' is used by ${earlier} too: give each case its own name`);
        return;
      }
      names.set(name, `cases[${i}]`);
      const hyperparameters = { ...c.hyperparameters, ...point.values };
      const training: CaseTraining = {
        imageUri: c.image,
        build,
        channels,
        hyperparameters: Object.keys(hyperparameters).length > 0 ? hyperparameters : undefined,
        environment: c.environment,
        instanceType: c.instanceType,
        instanceCount: c.instanceCount,
        inputMode: c.inputMode,
        maxRuntimeInSeconds: c.maxRuntimeInSeconds,
        volumeSizeInGB: c.volumeSizeInGB,
        metricDefinitions: c.metricDefinitions,
        entrypoint: c.entrypoint,
        arguments: c.arguments,
      };
      cases.push({ name, training, expect });
    }
  });
  let workspaceFile: string | undefined;
  if (spec.workspace !== undefined) {
    workspaceFile = inFolder(spec.workspace);
    if (!existsSync(workspaceFile)) problem('workspace', `no such file: ${workspaceFile}`);
  }
  if (problems.length > 0) throw new CheckSpecError(file, problems);
  return { name: spec.name ?? basename(path, extname(path)), file: path, workspaceFile, cases };
}

/** A case's fields over the spec's defaults; maps (hyperparameters, environment, grid, channels) and expectations merge one level deep. */
function merged(defaults: Omit<CaseSpec, 'name'>, own: CaseSpec): CaseSpec {
  const out: CaseSpec = { ...defaults, ...own };
  for (const key of ['hyperparameters', 'environment', 'grid', 'channels'] as const) {
    if (defaults[key] && own[key]) (out as Record<string, unknown>)[key] = { ...defaults[key], ...own[key] };
  }
  if (defaults.expect && own.expect) {
    out.expect = { ...defaults.expect, ...own.expect, metrics: { ...defaults.expect.metrics, ...own.expect.metrics } };
  }
  return out;
}

function resolveChannel(ch: ChannelSpec, inFolder: (p: string) => string): CaseChannel {
  if (typeof ch === 'string') return inFolder(ch);
  if ('path' in ch) return { path: inFolder(ch.path) };
  return ch;
}

function logLineMatcher(l: LogLineExpectation, field: string, problem: (field: string, message: string) => void): LogLineMatcher {
  if (typeof l === 'string') return { kind: 'contains', text: l };
  if ('contains' in l) return { kind: 'contains', text: l.contains };
  try {
    // The syntax of metric definitions (Python's), on RE2 like every pattern a user gives.
    const { source, flags } = translatePythonRegex(l.regex);
    return { kind: 'regex', source: l.regex, regex: compileUserRegex(source, flags) };
  } catch (e) {
    problem(`${field}.regex`, e instanceof UserRegexError ? e.constraint.replace(/^Member must be /, 'expected ') : (e as Error).message);
    return { kind: 'contains', text: '' };
  }
}

/** `./a//b/` → `a/b`: how an archive's entry and an expected file are compared. */
export function normalizeArchivePath(p: string): string {
  return p.split('/').filter((s) => s !== '' && s !== '.').join('/');
}
