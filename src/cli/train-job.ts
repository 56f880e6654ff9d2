import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import type { TrainChannel, TrainInput } from '../api/train.js';
import { UsageError } from './errors.js';

/**
 * What `crml train` trains: one job, from a job file (`-f job.yaml`, YAML or JSON) and flags, the flags winning.
 * The file's fields are the flags' names in camelCase; paths in it are read from the file's folder.
 */

/** A value given as a string, number or boolean: the API takes strings, a YAML `epochs: 3` means "3". */
const Scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const StringMap = z.record(z.string(), Scalar);

const ChannelSchema = z.union([
  z.string().min(1),
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ sql: z.string().min(1), resultFormat: z.enum(['CSV', 'PARQUET']).optional() }),
]);

export const TrainJobSchema = z.strictObject({
  name: z.string().optional(),
  image: z.string().min(1).optional(),
  /** A folder, or the folder with its Dockerfile, build arguments and tag. */
  build: z
    .union([
      z.string().min(1),
      z.strictObject({ context: z.string().min(1), dockerfile: z.string().optional(), buildArgs: StringMap.optional(), tag: z.string().optional() }),
    ])
    .optional(),
  dockerfile: z.string().optional(),
  buildArgs: StringMap.optional(),
  channels: z.record(z.string(), ChannelSchema).optional(),
  hyperparameters: StringMap.optional(),
  environment: StringMap.optional(),
  instanceType: z.string().optional(),
  instanceCount: z.number().int().optional(),
  inputMode: z.enum(['File', 'FastFile', 'Pipe']).optional(),
  /** Seconds. */
  maxRuntime: z.number().int().optional(),
  volumeSizeInGB: z.number().int().optional(),
  /** Metric name → regex, or a list of { name, regex } as the API has it. */
  metrics: z.union([z.record(z.string(), z.string()), z.array(z.strictObject({ name: z.string(), regex: z.string() }))]).optional(),
  entrypoint: z.array(z.string()).optional(),
  arguments: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  privacyConfiguration: z.record(z.string(), z.unknown()).optional(),
});
export type TrainJob = z.infer<typeof TrainJobSchema>;

/** zod's issues as `field: what is wrong`, each naming the field as the file spells it. */
function issuesText(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const field = i.path.map(String).join('.') || '(the file)';
      if (i.code === 'unrecognized_keys') return `${[...i.path, ...i.keys].join('.') || i.keys.join(', ')}: not a field of a job file`;
      return `${field}: ${i.message}`;
    })
    .join('; ');
}

/** Reads and checks a job file; paths in it are made absolute from its folder. */
export async function readTrainJobFile(path: string): Promise<TrainJob> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`-f ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let raw: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both.
    raw = YAML.parse(text);
  } catch (e) {
    throw new UsageError(`-f ${path}: not YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const parsed = TrainJobSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new UsageError(`-f ${path}: ${issuesText(parsed.error)}`);
  const job = parsed.data;
  const base = dirname(resolve(path));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  if (typeof job.build === 'string') job.build = at(job.build);
  else if (job.build) job.build = { ...job.build, context: at(job.build.context) };
  if (job.channels) {
    job.channels = Object.fromEntries(
      Object.entries(job.channels).map(([name, c]) => [name, typeof c === 'string' ? at(c) : 'path' in c ? { path: at(c.path) } : c]),
    );
  }
  return job;
}

/** `K=V,K2=V2`, or a JSON object (values given as numbers or booleans become strings). */
export function parseKeyValues(flag: string, text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new UsageError(`${flag}: not valid JSON: ${(e as Error).message}`);
    }
    const parsed = StringMap.safeParse(json);
    if (!parsed.success) throw new UsageError(`${flag}: ${issuesText(parsed.error)}`);
    return parsed.data;
  }
  const out: Record<string, string> = {};
  if (trimmed === '') return out;
  for (const pair of trimmed.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: expected KEY=VALUE[,KEY=VALUE…] or a JSON object, got '${pair}'`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return out;
}

/** `--channel train=./data/train`, `--channel train=./rows.csv`, or `--channel train=sql:SELECT …` (CSV). */
export function parseChannelFlag(text: string): [string, TrainChannel] {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new UsageError(`--channel: expected NAME=PATH or NAME=sql:QUERY, got '${text}'`);
  const name = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (/^sql:/i.test(value)) return [name, { sql: value.slice(4) }];
  if (/^parquet-sql:/i.test(value)) return [name, { sql: value.slice('parquet-sql:'.length), resultFormat: 'PARQUET' }];
  return [name, resolve(value)];
}

/** `--metric 'loss=loss: ([0-9.]+)'`: the name, then the regex after the first `=`. */
export function parseMetricFlag(text: string): { name: string; regex: string } {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new UsageError(`--metric: expected NAME=REGEX, got '${text}'`);
  return { name: text.slice(0, eq), regex: text.slice(eq + 1) };
}

/** A list flag given as a JSON array, or as words separated by spaces. */
export function parseWords(flag: string, text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const parsed = z.array(z.string()).safeParse((() => {
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        return undefined;
      }
    })());
    if (!parsed.success) throw new UsageError(`${flag}: expected a JSON array of strings, or words separated by spaces`);
    return parsed.data;
  }
  return trimmed.split(/\s+/).filter(Boolean);
}

export interface TrainFlags {
  file?: string;
  image?: string;
  build?: string;
  buildArg: string[];
  dockerfile?: string;
  channel: string[];
  name?: string;
  hyperparameters?: string;
  environment?: string;
  instanceType?: string;
  instanceCount?: string;
  inputMode?: string;
  maxRuntime?: string;
  volumeSize?: string;
  metric: string[];
  entrypoint?: string;
  watch?: boolean;
}

const orNone = (m: Record<string, string>) => (Object.keys(m).length > 0 ? m : undefined);

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${flag}: expected a whole number, got '${text}'`);
  return Number(text);
}

/**
 * The job file (if any) with the flags laid over it: scalars replace, maps (channels, hyperparameters,
 * environment, build arguments, metrics) are merged key by key.
 */
export async function trainInputFromFlags(flags: TrainFlags): Promise<TrainInput> {
  const job: TrainJob = flags.file ? await readTrainJobFile(flags.file) : {};
  const fileBuild = typeof job.build === 'string' ? { context: job.build } : job.build;
  const image = flags.image ?? (flags.build ? undefined : job.image);
  const buildContext = flags.build ? resolve(flags.build) : flags.image ? undefined : fileBuild?.context;
  if (image !== undefined && buildContext !== undefined) throw new UsageError('give --image or --build, not both');
  if (image === undefined && buildContext === undefined) throw new UsageError('give --image IMAGE or --build DIR (or image or build in the job file)');
  const buildArgs = { ...job.buildArgs, ...fileBuild?.buildArgs };
  for (const a of flags.buildArg) Object.assign(buildArgs, parseKeyValues('--build-arg', a));
  const channels: Record<string, TrainChannel> = { ...job.channels };
  for (const c of flags.channel) {
    const [name, value] = parseChannelFlag(c);
    channels[name] = value;
  }
  if (Object.keys(channels).length === 0) throw new UsageError('give at least one --channel NAME=PATH (or channels in the job file)');
  const metrics = new Map<string, string>(
    Array.isArray(job.metrics) ? job.metrics.map((m) => [m.name, m.regex]) : Object.entries(job.metrics ?? {}),
  );
  for (const m of flags.metric.map(parseMetricFlag)) metrics.set(m.name, m.regex);
  const inputMode = flags.inputMode ?? job.inputMode;
  if (inputMode !== undefined && !['File', 'FastFile', 'Pipe'].includes(inputMode)) {
    throw new UsageError(`--input-mode: expected File, FastFile or Pipe, got '${inputMode}'`);
  }
  return {
    ...(image !== undefined
      ? { imageUri: image }
      : {
          build: {
            context: buildContext!,
            dockerfile: flags.dockerfile ?? fileBuild?.dockerfile ?? job.dockerfile,
            buildArgs: Object.keys(buildArgs).length > 0 ? buildArgs : undefined,
            tag: flags.build ? undefined : fileBuild?.tag,
          },
        }),
    channels,
    name: flags.name ?? job.name,
    hyperparameters: orNone({ ...job.hyperparameters, ...(flags.hyperparameters !== undefined ? parseKeyValues('--hyperparameters', flags.hyperparameters) : {}) }),
    environment: orNone({ ...job.environment, ...(flags.environment !== undefined ? parseKeyValues('--environment', flags.environment) : {}) }),
    instanceType: flags.instanceType ?? job.instanceType,
    instanceCount: integer('--instance-count', flags.instanceCount) ?? job.instanceCount,
    inputMode: inputMode as TrainInput['inputMode'],
    maxRuntimeInSeconds: integer('--max-runtime', flags.maxRuntime) ?? job.maxRuntime,
    volumeSizeInGB: integer('--volume-size', flags.volumeSize) ?? job.volumeSizeInGB,
    metricDefinitions: metrics.size > 0 ? [...metrics].map(([name, regex]) => ({ name, regex })) : undefined,
    entrypoint: flags.entrypoint !== undefined ? parseWords('--entrypoint', flags.entrypoint) : job.entrypoint,
    arguments: job.arguments,
    labels: job.labels,
    privacyConfiguration: job.privacyConfiguration as TrainInput['privacyConfiguration'],
  };
}
