import { availableParallelism, homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Every local setting in one place, resolved once at the edge (CLI, server, tests) and injected.
 * Nothing below src/ reads process.env on its own.
 */
export interface Settings {
  /** Where the store (SQLite), artifacts and logs live. */
  dataDir: string;
  region: string;
  accountId: string;
  /** The membership used when a caller does not name one (CLI convenience). */
  defaultMembershipId: string;
  collaborationId: string;
  /** Membership ids that may be used; empty means any well-formed one. */
  allowedMembershipIds: string[];
  /** SIGTERM → SIGKILL grace period when a run is stopped (deadline or cancel). */
  stopGracePeriodMs: number;
  /** Fail a run instead of scaling its limits down when the host is smaller than the instance type. */
  strictResources: boolean;
  quotaPerMembership: number;
  quotaPerAccount: number;
  pullPolicy: 'missing' | 'always' | 'never';
  /**
   * Keep a skeleton image (`crml-skeleton:<image id>`: the training image plus /opt/ml's empty folders) per training
   * image, so runs after the first need no archive call before they start (src/runner/skeleton-images.ts).
   */
  skeletonImages: boolean;
  /** Hardening of training containers (contract §5); each may be relaxed here, explicitly. */
  hardening: {
    /** Network of a single-instance run: 'none' (default) or an engine network name such as 'bridge'. */
    singleInstanceNetwork: string;
    /** Capabilities given back after dropping all. */
    capAdd: string[];
    noNewPrivileges: boolean;
    pidsLimit: number;
  };
  /**
   * ECR: the API endpoint (a VPC endpoint; otherwise the region's own, or AWS_ENDPOINT_URL_ECR), and registry hosts
   * to treat as ECR although their name is not an ECR address (a pull-through proxy), with their account and region.
   */
  ecr: { endpoint?: string; registries: Record<string, { accountId: string; region: string }> };
  /** Credentials per registry host, used before ECR and the Docker config (never logged). */
  registryCredentials: Record<string, { username: string; password: string }>;
  /** The workspace config naming local tables for SQL channels; default `<dataDir>/workspace.json` when present. */
  workspaceFile?: string;
  /** How often the bytes a job wrote are measured against volumeSizeInGB. */
  volumeCheckIntervalMs: number;
  /** stoppingCondition.maxRuntimeInSeconds when a CreateTrainedModel request gives none (contract §6, decided). */
  defaultMaxRuntimeSeconds: number;
  /** The level of the runner's own (pino) log lines, written to stderr. */
  logLevel: LogLevel;
  /** Where the container engine is (DOCKER_HOST; none: discovered) and the ssh agent an ssh:// engine uses. */
  engine: { dockerHost?: string; sshAuthSock?: string };
  /**
   * Where runs are placed: 'docker' (default) on the one engine; 'swarm' as services of the Docker Swarm whose manager
   * DOCKER_HOST names (src/runner/swarm). A swarm instance not running within `swarmPlacementTimeoutMs` fails the run.
   */
  placement: 'docker' | 'swarm';
  swarmPlacementTimeoutMs: number;
  /** Docker's config.json, as the docker CLI finds it: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  dockerConfigPath: string;
  /** AWS_DEFAULT_OUTPUT: the API commands' --output when none is given (checked by the CLI, which knows the formats). */
  cliOutput?: string;
  /** The key `crml serve` requires SigV4 signatures to be made with, when given (never logged). */
  sigv4: { accessKeyId?: string; secretAccessKey?: string };
  /** The most entries (files, folders, links) a local channel folder may hold; more is refused, not walked on. */
  localDataMaxFiles: number;
  /** `crml serve`: folders localDataSource may name over HTTP (none: refused), and the browser Origins and Host names it accepts beyond loopback. */
  server: { localDataRoots: string[]; allowedOrigins: string[]; allowedHosts: string[] };
  /** SQL channels: a protected query is stopped past this time, or when its result grows past this size. */
  sqlTimeoutMs: number;
  sqlMaxResultBytes: number;
  /** SQL channels: DuckDB's memory_limit (it spills to disk beyond it) and threads, so a query cannot take the host down. */
  sqlMemoryLimit: string;
  sqlThreads: number;
  /** Inference jobs: how long each container has to answer GET /ping with 200, and how long one POST /invocations may take. */
  inferencePingTimeoutMs: number;
  inferenceInvocationTimeoutMs: number;
  /**
   * Run an inference job although its network could not be closed to this machine's services (no iptables, not
   * root): its containers could then reach them at the network's gateway. Off: such a job fails.
   */
  inferenceAllowHostReachable: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_MEMBERSHIP_ID = '00000000-0000-4000-8000-000000000001';
export const DEFAULT_COLLABORATION_ID = '00000000-0000-4000-8000-0000000000c1';

/** Settings that differ from the defaults; hardening may be given in part. */
export type SettingsOverrides = Partial<Omit<Settings, 'hardening'>> & { hardening?: Partial<Settings['hardening']> };

export function defaultSettings(overrides: SettingsOverrides = {}): Settings {
  return {
    dataDir: join(homedir(), '.cleanrooms-ml-local'),
    region: 'us-east-1',
    accountId: '123456789012',
    defaultMembershipId: DEFAULT_MEMBERSHIP_ID,
    collaborationId: DEFAULT_COLLABORATION_ID,
    allowedMembershipIds: [],
    stopGracePeriodMs: 120_000,
    strictResources: false,
    quotaPerMembership: 5,
    quotaPerAccount: 10,
    pullPolicy: 'missing',
    skeletonImages: true,
    volumeCheckIntervalMs: 2000,
    defaultMaxRuntimeSeconds: 86_400,
    logLevel: 'warn',
    engine: {},
    placement: 'docker',
    swarmPlacementTimeoutMs: 120_000,
    dockerConfigPath: join(homedir(), '.docker', 'config.json'),
    sigv4: {},
    ecr: { registries: {} },
    registryCredentials: {},
    localDataMaxFiles: 1_000_000,
    server: { localDataRoots: [], allowedOrigins: [], allowedHosts: [] },
    sqlTimeoutMs: 600_000,
    sqlMaxResultBytes: 10 * 1024 ** 3,
    sqlMemoryLimit: `${Math.floor(totalmem() / 2 / 1024 ** 2)}MiB`,
    sqlThreads: Math.max(1, Math.floor(availableParallelism() / 2)),
    inferencePingTimeoutMs: 240_000,
    inferenceInvocationTimeoutMs: 600_000,
    inferenceAllowHostReachable: false,
    ...overrides,
    hardening: { singleInstanceNetwork: 'none', capAdd: [], noNewPrivileges: true, pidsLimit: 4096, ...overrides.hardening },
  };
}

/** A variable of the environment with a value the project cannot use: the CLI and the server stop (exit 252). */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/**
 * How a variable's text is read. Each parser's description says what it accepts, for the error message
 * ("Expected CRML_PIDS_LIMIT to be a whole number of 1 or more, got '-1'").
 */
const text = z.string().describe('a text');
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).describe('a comma-separated list');
const wholeNumber = (min: number) =>
  z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min)).describe(`a whole number of ${min} or more`);
const seconds = z.string().trim().regex(/^\d+(\.\d+)?$/).transform(Number).describe('a number of seconds (0 or more, such as 30 or 2.5)');
/** A timeout: 0 would give a container no time at all. */
const positiveSeconds = seconds.pipe(z.number().positive()).describe('a number of seconds above 0 (such as 30 or 2.5)');
const flag = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0']))
  .transform((s) => s === 'true' || s === '1')
  .describe("'true', 'false', '1' or '0'");
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values).describe(values.map((v) => `'${v}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'));
const engineAddress = z
  .string()
  .trim()
  .refine((s) => URL.canParse(s))
  .describe('an engine address such as unix:///var/run/docker.sock, tcp://host:2375 or ssh://user@host');
/** The region part of an ARN (`[-a-z0-9]+` in the model's ARN patterns): any other would make ARNs nothing can read back. */
const region = z.string().trim().regex(/^[-a-z0-9]+$/).describe('an AWS region such as us-east-1 (lower-case letters, digits and -)');
const accountId = z.string().trim().regex(/^\d{12}$/).describe('an AWS account id (12 digits)');
/** CRML_ECR_REGISTRIES=host=account:region,host2=account:region */
const ecrRegistries = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^=\s]+=\d{12}:[a-z0-9-]+$/)))
  .transform((entries) => Object.fromEntries(entries.map((e) => {
    const [host, target] = e.split('=') as [string, string];
    const [accountId, region] = target.split(':') as [string, string];
    return [host, { accountId, region }];
  })))
  .describe("comma-separated host=account:region entries (such as proxy.example.com=123456789012:us-east-1)");

interface Variable {
  parser: z.ZodType;
  apply(s: Settings, value: never): void;
}

/** A variable: how its text is read, and where its value goes. */
function variable<T>(parser: z.ZodType<T, string>, apply: (s: Settings, value: T) => void): Variable {
  return { parser, apply: apply as Variable['apply'] };
}

/**
 * Every variable of the environment the project reads, one line each, applied in this order (so CRML_REGION
 * wins over AWS_REGION). An unset or empty variable keeps the default.
 */
const VARIABLES: Record<string, Variable> = {
  CRML_DATA_DIR: variable(text, (s, v) => (s.dataDir = v)),
  AWS_REGION: variable(region, (s, v) => (s.region = v)),
  CRML_REGION: variable(region, (s, v) => (s.region = v)),
  CRML_ACCOUNT_ID: variable(accountId, (s, v) => (s.accountId = v)),
  CRML_MEMBERSHIP_ID: variable(text, (s, v) => (s.defaultMembershipId = v)),
  CRML_COLLABORATION_ID: variable(text, (s, v) => (s.collaborationId = v)),
  CRML_ALLOWED_MEMBERSHIP_IDS: variable(list, (s, v) => (s.allowedMembershipIds = v)),
  CRML_STOP_GRACE_PERIOD_SECONDS: variable(seconds, (s, v) => (s.stopGracePeriodMs = v * 1000)),
  CRML_STRICT_RESOURCES: variable(flag, (s, v) => (s.strictResources = v)),
  CRML_WORKSPACE: variable(text, (s, v) => (s.workspaceFile = v)),
  CRML_ECR_ENDPOINT: variable(text, (s, v) => (s.ecr.endpoint = v)),
  CRML_ECR_REGISTRIES: variable(ecrRegistries, (s, v) => (s.ecr.registries = v)),
  CRML_PULL_POLICY: variable(oneOf(['missing', 'always', 'never']), (s, v) => (s.pullPolicy = v)),
  CRML_SKELETON_IMAGES: variable(flag, (s, v) => (s.skeletonImages = v)),
  CRML_SINGLE_INSTANCE_NETWORK: variable(text, (s, v) => (s.hardening.singleInstanceNetwork = v)),
  CRML_CAP_ADD: variable(list, (s, v) => (s.hardening.capAdd = v)),
  CRML_NO_NEW_PRIVILEGES: variable(flag, (s, v) => (s.hardening.noNewPrivileges = v)),
  CRML_PIDS_LIMIT: variable(wholeNumber(1), (s, v) => (s.hardening.pidsLimit = v)),
  CRML_LOG_LEVEL: variable(oneOf(LOG_LEVELS), (s, v) => (s.logLevel = v)),
  AWS_DEFAULT_OUTPUT: variable(text, (s, v) => (s.cliOutput = v.trim())),
  CRML_ACCESS_KEY_ID: variable(text, (s, v) => (s.sigv4.accessKeyId = v)),
  CRML_SECRET_ACCESS_KEY: variable(text, (s, v) => (s.sigv4.secretAccessKey = v)),
  DOCKER_HOST: variable(engineAddress, (s, v) => (s.engine.dockerHost = v)),
  CRML_ENGINE: variable(oneOf(['docker', 'swarm']), (s, v) => (s.placement = v)),
  CRML_SWARM_PLACEMENT_TIMEOUT_SECONDS: variable(seconds, (s, v) => (s.swarmPlacementTimeoutMs = v * 1000)),
  DOCKER_CONFIG: variable(text, (s, v) => (s.dockerConfigPath = join(v, 'config.json'))),
  SSH_AUTH_SOCK: variable(text, (s, v) => (s.engine.sshAuthSock = v)),
  CRML_LOCAL_DATA_MAX_FILES: variable(wholeNumber(1), (s, v) => (s.localDataMaxFiles = v)),
  CRML_SQL_TIMEOUT_SECONDS: variable(seconds, (s, v) => (s.sqlTimeoutMs = v * 1000)),
  CRML_SQL_MAX_RESULT_BYTES: variable(wholeNumber(1), (s, v) => (s.sqlMaxResultBytes = v)),
  CRML_SQL_MEMORY_LIMIT: variable(z.string().trim().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i).describe("a size in DuckDB's syntax, such as 4GiB or 512MB"), (s, v) => (s.sqlMemoryLimit = v)),
  CRML_SQL_THREADS: variable(wholeNumber(1), (s, v) => (s.sqlThreads = v)),
  CRML_INFERENCE_PING_TIMEOUT_SECONDS: variable(positiveSeconds, (s, v) => (s.inferencePingTimeoutMs = v * 1000)),
  CRML_INFERENCE_INVOCATION_TIMEOUT_SECONDS: variable(positiveSeconds, (s, v) => (s.inferenceInvocationTimeoutMs = v * 1000)),
  CRML_INFERENCE_ALLOW_HOST_REACHABLE: variable(flag, (s, v) => (s.inferenceAllowHostReachable = v)),
};

/**
 * Settings from the environment: only the CLI and the server's entry point call this. Every bad value is
 * reported at once, each naming the variable, its value and what is accepted.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const settings = defaultSettings();
  const problems: string[] = [];
  for (const [name, v] of Object.entries(VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const parsed = v.parser.safeParse(raw);
    if (parsed.success) v.apply(settings, parsed.data as never);
    else problems.push(`Expected ${name} to be ${v.parser.description}, got '${raw}'.`);
  }
  if (problems.length > 0) throw new SettingsError(problems.join('\n'));
  return settings;
}
