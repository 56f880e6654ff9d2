import { availableParallelism, homedir, totalmem } from 'node:os';
import { join } from 'node:path';

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
  /** SQL channels: a protected query is stopped past this time, or when its result grows past this size. */
  sqlTimeoutMs: number;
  sqlMaxResultBytes: number;
  /** SQL channels: DuckDB's memory_limit (it spills to disk beyond it) and threads, so a query cannot take the host down. */
  sqlMemoryLimit: string;
  sqlThreads: number;
}

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
    volumeCheckIntervalMs: 2000,
    sqlTimeoutMs: 600_000,
    sqlMaxResultBytes: 10 * 1024 ** 3,
    sqlMemoryLimit: `${Math.floor(totalmem() / 2 / 1024 ** 2)}MiB`,
    sqlThreads: Math.max(1, Math.floor(availableParallelism() / 2)),
    ecr: { registries: {} },
    registryCredentials: {},
    ...overrides,
    hardening: { singleInstanceNetwork: 'none', capAdd: [], noNewPrivileges: true, pidsLimit: 4096, ...overrides.hardening },
  };
}

/** Settings from the environment: only the CLI and the server's entry point call this. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const o: SettingsOverrides = {};
  if (env.CRML_DATA_DIR) o.dataDir = env.CRML_DATA_DIR;
  if (env.CRML_REGION ?? env.AWS_REGION) o.region = (env.CRML_REGION ?? env.AWS_REGION)!;
  if (env.CRML_ACCOUNT_ID) o.accountId = env.CRML_ACCOUNT_ID;
  if (env.CRML_MEMBERSHIP_ID) o.defaultMembershipId = env.CRML_MEMBERSHIP_ID;
  if (env.CRML_COLLABORATION_ID) o.collaborationId = env.CRML_COLLABORATION_ID;
  if (env.CRML_ALLOWED_MEMBERSHIP_IDS) o.allowedMembershipIds = env.CRML_ALLOWED_MEMBERSHIP_IDS.split(',').filter(Boolean);
  if (env.CRML_STOP_GRACE_PERIOD_SECONDS) o.stopGracePeriodMs = Number(env.CRML_STOP_GRACE_PERIOD_SECONDS) * 1000;
  if (env.CRML_STRICT_RESOURCES) o.strictResources = env.CRML_STRICT_RESOURCES === '1' || env.CRML_STRICT_RESOURCES === 'true';
  if (env.CRML_WORKSPACE) o.workspaceFile = env.CRML_WORKSPACE;
  if (env.CRML_SQL_TIMEOUT_SECONDS) o.sqlTimeoutMs = Number(env.CRML_SQL_TIMEOUT_SECONDS) * 1000;
  if (env.CRML_SQL_MAX_RESULT_BYTES) o.sqlMaxResultBytes = Number(env.CRML_SQL_MAX_RESULT_BYTES);
  if (env.CRML_SQL_MEMORY_LIMIT) o.sqlMemoryLimit = env.CRML_SQL_MEMORY_LIMIT;
  if (env.CRML_SQL_THREADS) o.sqlThreads = Number(env.CRML_SQL_THREADS);
  // CRML_ECR_REGISTRIES=host=account:region,host2=account:region
  const registries: Settings['ecr']['registries'] = {};
  for (const entry of (env.CRML_ECR_REGISTRIES ?? '').split(',').filter(Boolean)) {
    const m = /^([^=]+)=(\d{12}):([a-z0-9-]+)$/.exec(entry.trim());
    if (m) registries[m[1]!] = { accountId: m[2]!, region: m[3]! };
  }
  o.ecr = { endpoint: env.CRML_ECR_ENDPOINT, registries };
  if (env.CRML_PULL_POLICY) o.pullPolicy = env.CRML_PULL_POLICY as Settings['pullPolicy'];
  const hardening: Partial<Settings['hardening']> = {};
  if (env.CRML_SINGLE_INSTANCE_NETWORK) hardening.singleInstanceNetwork = env.CRML_SINGLE_INSTANCE_NETWORK;
  if (env.CRML_CAP_ADD) hardening.capAdd = env.CRML_CAP_ADD.split(',').filter(Boolean);
  if (env.CRML_NO_NEW_PRIVILEGES === 'false') hardening.noNewPrivileges = false;
  if (env.CRML_PIDS_LIMIT) hardening.pidsLimit = Number(env.CRML_PIDS_LIMIT);
  o.hardening = hardening;
  return defaultSettings(o);
}
