import type { ResourceKind, Store } from './store.js';
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Settings } from '../settings.js';
import type { CreateMLInputChannelInput } from './operations/ml-input-channels.js';
import type * as T from './generated/types.js';
import { ValidationException } from './generated/errors.js';
import { validateInput, validationException } from './validation.js';
import { assertTrainingInput } from './training-input-rules.js';
import { assertPlacementInput } from './placement-rules.js';
import { arns } from './arns.js';
import type { ImageBuildSpec } from '../runner/types.js';
import type { CreateTrainedModelExtras } from './operations/trained-models.js';

/** A folder with a Dockerfile, built through the engine's build API (offline: its base image must be local). */
export interface TrainBuild {
  context: string;
  /** The Dockerfile's path inside the folder (default `Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** Default: `crml-build/<folder name>-<hash of its absolute path>:latest`, stable per folder. */
  tag?: string;
}

/**
 * A channel's data: a local folder (a string or `{ path }`), a single local file (the channel then holds just
 * that file), or a SQL query over the workspace (a channel made from protectedQueryInputParameters).
 */
export type TrainChannel = string | { path: string } | { sql: string; resultFormat?: 'CSV' | 'PARQUET' };

/** A build's output line, or an image pull's progress per layer (the Docker CLI's lines). */
export type TrainProgress = { kind: 'build'; line: string } | { kind: 'pull'; id?: string; status: string; progress?: string };

/** What `train` needs: an image (or a folder to build one from), channels and the run's settings. */
export interface TrainInput {
  /** Exactly one of imageUri and build. */
  imageUri?: string;
  build?: TrainBuild;
  /** Channel name → its data. */
  channels: Record<string, TrainChannel>;
  name?: string;
  hyperparameters?: Record<string, string>;
  environment?: Record<string, string>;
  instanceType?: string;
  instanceCount?: number;
  inputMode?: T.TrainingInputMode;
  maxRuntimeInSeconds?: number;
  volumeSizeInGB?: number;
  metricDefinitions?: { name: string; regex: string }[];
  entrypoint?: string[];
  arguments?: string[];
  privacyConfiguration?: T.PrivacyConfiguration;
  roleArn?: string;
  /** Build lines and pull progress, as they come. */
  onProgress?: (e: TrainProgress) => void;
  /** Labels on every container and network of the run (a test session's, so its cleanup finds them). */
  labels?: Record<string, string>;
  /** Aborts a build in progress, or the call before it creates anything (rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface TrainResult {
  trainedModelArn: string;
  configuredModelAlgorithmArn: string;
  configuredModelAlgorithmAssociationArn: string;
  mlInputChannelArns: Record<string, string>;
  reused: { configuredModelAlgorithm: boolean; configuredModelAlgorithmAssociation: boolean; mlInputChannels: string[] };
  /** The image the run uses: imageUri as given, or the tag of the image built. */
  imageUri: string;
}

/** The service's public operations train uses (CleanRoomsMLLocal; named here so that train.ts does not import it). */
export interface TrainService {
  readonly settings: Settings;
  readonly store: Pick<Store, 'arnByIdOrName'>;
  createConfiguredModelAlgorithm(input: T.CreateConfiguredModelAlgorithmRequest): Promise<T.CreateConfiguredModelAlgorithmResponse>;
  createConfiguredModelAlgorithmAssociation(
    input: T.CreateConfiguredModelAlgorithmAssociationRequest,
  ): Promise<T.CreateConfiguredModelAlgorithmAssociationResponse>;
  createMLInputChannel(input: CreateMLInputChannelInput): Promise<T.CreateMLInputChannelResponse>;
  getMLInputChannel(input: T.GetMLInputChannelRequest): Promise<T.GetMLInputChannelResponse>;
  waitForRuns(trainedModelArn: string): Promise<void>;
}

/** What train needs of the service beyond its public operations (the service passes them). */
export interface TrainDeps {
  service: TrainService;
  buildImage(spec: ImageBuildSpec): Promise<{ imageId: string }>;
  createTrainedModel(input: T.CreateTrainedModelRequest, extras: CreateTrainedModelExtras): Promise<T.CreateTrainedModelResponse>;
  /** Sends the pull progress of a trained model's run to `listener` until the returned function is called. */
  onPullProgress(trainedModelArn: string, listener: (p: { id?: string; status: string; progress?: string }) => void): () => void;
}

const ROLE = 'arn:aws:iam::123456789012:role/crml-train';
const SQL_CHANNEL_POLL_MS = 100;
/** Container and network labels that are the runner's own: a caller's label may not replace them. */
const RESERVED_LABEL_PREFIX = 'crml.';

/** A short stable hash, so that the same configuration maps to the same names (reuse) and another to new ones. */
function shortHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 10);
}

/** The tag of a folder's image: the same folder always gets the same tag, two folders of one name do not share it. */
export function buildTag(context: string): string {
  const abs = resolve(context);
  const cleaned = basename(abs).toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  // A repository name starts and ends with a letter or digit.
  const first = cleaned.search(/[a-z0-9]/);
  let last = cleaned.length;
  while (last > 0 && !/[a-z0-9]/.test(cleaned[last - 1]!)) last--;
  const name = first < 0 ? 'image' : cleaned.slice(first, last);
  return `crml-build/${name.slice(0, 40)}-${createHash('sha256').update(abs).digest('hex').slice(0, 8)}:latest`;
}

const invalid = (path: string, value: unknown, constraint: string) => validationException([{ path, value, constraint }]);

/** The input's own rules (those the API's operations cannot see), checked before anything is created. */
function assertTrainShape(input: TrainInput): void {
  if ((input.imageUri === undefined) === (input.build === undefined)) {
    throw new ValidationException('Exactly one of imageUri and build must be given: an image to run, or a folder with a Dockerfile to build one from.');
  }
  if (input.build && (typeof input.build.context !== 'string' || input.build.context.trim() === '')) {
    throw invalid('build.context', input.build.context, 'Member must name a folder with a Dockerfile');
  }
  const channels = Object.entries(input.channels ?? {});
  if (channels.length === 0) throw invalid('channels', '{}', 'Member must name at least one channel');
  for (const [name, channel] of channels) {
    const ok =
      typeof channel === 'string'
        ? channel.trim() !== ''
        : typeof channel === 'object' && channel !== null && (typeof (channel as { path?: unknown }).path === 'string' || typeof (channel as { sql?: unknown }).sql === 'string');
    if (!ok) throw invalid(`channels.${name}`, JSON.stringify(channel), "Member must be a folder or file path, { path }, or { sql, resultFormat? }");
    const format = (channel as { resultFormat?: unknown }).resultFormat;
    if (format !== undefined && format !== 'CSV' && format !== 'PARQUET') {
      throw invalid(`channels.${name}.resultFormat`, format, 'Member must satisfy enum value set: [CSV, PARQUET]');
    }
  }
  for (const key of Object.keys(input.labels ?? {})) {
    if (key === '' || key.startsWith(RESERVED_LABEL_PREFIX)) {
      throw invalid('labels', key, `Label keys must not be empty nor start with '${RESERVED_LABEL_PREFIX}' (the runner's own labels)`);
    }
  }
}

/** The algorithm's container config and the trained model's request, with stand-in ARNs: validated before anything exists. */
function preflight(service: TrainService, input: TrainInput, imageUri: string, roleArn: string): void {
  const membershipIdentifier = service.settings.defaultMembershipId;
  validateInput('CreateConfiguredModelAlgorithm', { name: 'crml-train', roleArn, trainingContainerConfig: containerConfig(input, imageUri) });
  const ctx = { region: service.settings.region, accountId: service.settings.accountId };
  const standIn = '0'.repeat(32);
  const request = trainedModelRequest(input, membershipIdentifier, arns.configuredModelAlgorithmAssociation(ctx, membershipIdentifier, standIn), Object.fromEntries(
    Object.keys(input.channels).map((c) => [c, arns.mlInputChannel(ctx, membershipIdentifier, standIn)]),
  ));
  const valid = validateInput('CreateTrainedModel', request);
  assertTrainingInput(valid);
  assertPlacementInput(valid, service.settings);
}

function containerConfig(input: TrainInput, imageUri: string): T.ContainerConfig {
  return { imageUri, entrypoint: input.entrypoint, arguments: input.arguments, metricDefinitions: input.metricDefinitions };
}

function trainedModelRequest(input: TrainInput, membershipIdentifier: string, assoc: string, channelArns: Record<string, string>): T.CreateTrainedModelRequest {
  return {
    membershipIdentifier,
    name: input.name ?? `train-${new Date().toISOString().replace(/[^0-9]/g, '').slice(0, 14)}`,
    configuredModelAlgorithmAssociationArn: assoc,
    hyperparameters: input.hyperparameters,
    environment: input.environment,
    resourceConfig: {
      instanceType: (input.instanceType ?? 'ml.m5.large') as T.ResourceConfig['instanceType'],
      instanceCount: input.instanceCount ?? 1,
      volumeSizeInGB: input.volumeSizeInGB ?? 10,
    },
    stoppingCondition: input.maxRuntimeInSeconds === undefined ? undefined : { maxRuntimeInSeconds: input.maxRuntimeInSeconds },
    trainingInputMode: input.inputMode,
    dataChannels: Object.entries(channelArns).map(([channelName, mlInputChannelArn]) => ({ channelName, mlInputChannelArn })),
  };
}

/** Builds the image when a folder was given (checked first: a folder with its Dockerfile). */
async function imageOf(deps: TrainDeps, input: TrainInput): Promise<string> {
  if (!input.build) return input.imageUri!;
  const context = resolve(input.build.context);
  const dockerfile = input.build.dockerfile ?? 'Dockerfile';
  const isFolder = await stat(context).then((s) => s.isDirectory(), () => false);
  if (!isFolder) throw invalid('build.context', input.build.context, 'Member must be an existing folder');
  const hasDockerfile = await stat(join(context, dockerfile)).then((s) => s.isFile(), () => false);
  if (!hasDockerfile) throw invalid('build.dockerfile', dockerfile, `Member must be a file inside ${context}`);
  const tag = input.build.tag ?? buildTag(context);
  await deps.buildImage({
    context,
    dockerfile: input.build.dockerfile,
    buildArgs: input.build.buildArgs,
    tag,
    onProgress: input.onProgress && ((line) => input.onProgress!({ kind: 'build', line })),
    signal: input.signal,
  });
  return tag;
}

/**
 * A single file as a channel: a folder of the data folder holding just that file (a hard link, or a copy when
 * it is on another filesystem), named after the file's path, size and modification time, so that a changed
 * file makes a new channel (a link shares the content: an edit in place reaches a run reading it, as a folder's does).
 */
async function fileChannelFolder(dataDir: string, file: string): Promise<string> {
  const s = await stat(file);
  const folder = join(dataDir, 'train-files', shortHash([file, s.size, s.mtimeMs, s.ino]));
  const done = await stat(folder).then(() => true, () => false);
  if (done) return folder;
  // Made aside and renamed into place: a folder that exists is always complete.
  const partial = `${folder}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await link(file, join(partial, basename(file))).catch(() => copyFile(file, join(partial, basename(file))));
  await rename(partial, folder).catch(async (e: NodeJS.ErrnoException) => {
    // Another process made it meanwhile.
    await rm(partial, { recursive: true, force: true });
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
  });
  return folder;
}

/** The data source of a channel, and what its derived name depends on. */
async function dataSourceOf(
  dataDir: string,
  channelName: string,
  channel: TrainChannel,
): Promise<{ dataSource: CreateMLInputChannelInput['inputChannel']['dataSource']; key: unknown }> {
  if (typeof channel === 'object' && 'sql' in channel) {
    const resultFormat = channel.resultFormat ?? 'CSV';
    return { dataSource: { protectedQueryInputParameters: { sqlParameters: { queryString: channel.sql }, resultFormat } }, key: ['sql', channel.sql, resultFormat] };
  }
  const given = typeof channel === 'string' ? channel : channel.path;
  const path = resolve(given);
  const s = await stat(path).catch(() => undefined);
  if (!s) throw invalid(`channels.${channelName}`, given, 'Member must be an existing folder or file');
  if (s.isFile()) {
    const folder = await fileChannelFolder(dataDir, path);
    return { dataSource: { localDataSource: { path: folder } }, key: ['file', folder] };
  }
  // Anything else (a folder, or what the channel refuses by name) is the channel's own check.
  return { dataSource: { localDataSource: { path } }, key: path };
}

/** Waits for a SQL channel's query: ACTIVE, or the ValidationException carrying the query engine's message. */
async function untilChannelReady(service: TrainService, channelName: string, mlInputChannelArn: string): Promise<void> {
  const membershipIdentifier = service.settings.defaultMembershipId;
  for (;;) {
    const c = await service.getMLInputChannel({ membershipIdentifier, mlInputChannelArn });
    if (c.status === 'ACTIVE') return;
    if (c.status !== 'CREATE_PENDING' && c.status !== 'CREATE_IN_PROGRESS') {
      const why = c.statusDetails ? `${c.statusDetails.statusCode ?? ''}: ${c.statusDetails.message ?? ''}` : 'no details';
      throw new ValidationException(`ML input channel '${channelName}' (${mlInputChannelArn}) is ${c.status}, not ACTIVE (${why})`);
    }
    await sleep(SQL_CHANNEL_POLL_MS);
  }
}

/**
 * Creates or reuses (by names derived from what was given) the algorithm, association and channels, then
 * creates the trained model, whose run goes on in the background (`service.waitForRuns(arn)`). Every value is
 * checked by the API's own validation, before anything is built or created.
 */
export async function train(deps: TrainDeps, input: TrainInput): Promise<TrainResult> {
  const { service } = deps;
  assertTrainShape(input);
  const roleArn = input.roleArn ?? ROLE;
  preflight(service, input, input.imageUri ?? input.build!.tag ?? buildTag(input.build!.context), roleArn);
  const imageUri = await imageOf(deps, input).catch((e: unknown) => {
    input.signal?.throwIfAborted();
    throw e;
  });
  input.signal?.throwIfAborted();
  const membershipIdentifier = service.settings.defaultMembershipId;
  const trainingContainerConfig = containerConfig(input, imageUri);
  const algoName = `crml-train-${shortHash(trainingContainerConfig)}`;
  // By name in one store query (the names are derived, so a name is what was given), not by paging every list.
  const byName = (kind: ResourceKind, name: string) => service.store.arnByIdOrName(kind, name);
  let algo = byName('configured-model-algorithm', algoName);
  const reusedAlgo = algo !== undefined;
  algo ??= (await service.createConfiguredModelAlgorithm({ name: algoName, roleArn, trainingContainerConfig })).configuredModelAlgorithmArn;

  const assocName = `crml-train-${shortHash([membershipIdentifier, algo, input.privacyConfiguration ?? null])}`;
  let assoc = byName('configured-model-algorithm-association', assocName);
  const reusedAssoc = assoc !== undefined;
  assoc ??= (
    await service.createConfiguredModelAlgorithmAssociation({
      membershipIdentifier,
      configuredModelAlgorithmArn: algo,
      name: assocName,
      privacyConfiguration: input.privacyConfiguration,
    })
  ).configuredModelAlgorithmAssociationArn;

  const mlInputChannelArns: Record<string, string> = {};
  const reusedChannels: string[] = [];
  for (const [channelName, channel] of Object.entries(input.channels)) {
    const { dataSource, key } = await dataSourceOf(service.settings.dataDir, channelName, channel);
    const name = `crml-train-${channelName}-${shortHash([assoc, key])}`.slice(0, 63);
    // A query runs afresh each time: its tables' files may have changed since (a folder is mounted as it is now).
    const found = 'protectedQueryInputParameters' in dataSource ? undefined : byName('ml-input-channel', name);
    const status = found && (await service.getMLInputChannel({ membershipIdentifier, mlInputChannelArn: found })).status;
    if (found && (status === 'ACTIVE' || status === 'CREATE_PENDING' || status === 'CREATE_IN_PROGRESS')) {
      reusedChannels.push(channelName);
      mlInputChannelArns[channelName] = found;
    } else {
      mlInputChannelArns[channelName] = (
        await service.createMLInputChannel({
          membershipIdentifier,
          name,
          retentionInDays: 1,
          configuredModelAlgorithmAssociations: [assoc],
          inputChannel: { roleArn, dataSource },
        })
      ).mlInputChannelArn;
    }
    await untilChannelReady(service, channelName, mlInputChannelArns[channelName]);
  }

  const request = trainedModelRequest(input, membershipIdentifier, assoc, mlInputChannelArns);
  const { trainedModelArn } = await deps.createTrainedModel(request, { labels: input.labels });
  if (input.onProgress) {
    const progress = input.onProgress;
    const stop = deps.onPullProgress(trainedModelArn, (p) => progress({ kind: 'pull', ...p }));
    void service.waitForRuns(trainedModelArn).finally(stop);
  }
  return {
    trainedModelArn,
    configuredModelAlgorithmArn: algo,
    configuredModelAlgorithmAssociationArn: assoc,
    mlInputChannelArns,
    reused: { configuredModelAlgorithm: reusedAlgo, configuredModelAlgorithmAssociation: reusedAssoc, mlInputChannels: reusedChannels },
    imageUri,
  };
}
