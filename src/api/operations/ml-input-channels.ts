import { join } from 'node:path';
import { RUNNING_STATUSES } from '../trained-model-status.js';
import type * as T from '../generated/types.js';
import { AccessDeniedException, ConflictException } from '../generated/errors.js';
import { arns, newResourceId, resourceIdOfArn } from '../arns.js';
import { toOutput } from '../shape-output.js';
import { validationException } from '../validation.js';
import { arnContext, assertMembership, assertUserTags, nonEmpty, notFound, pageOfMembership, nowIso, type ServiceContext, type Stored } from '../service-context.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { describeLocalData, LocalDataError, resolveLocalDataFolder } from '../../channels/local-data.js';
import { loadDataDirWorkspace, WORKSPACE_FILE_NAME } from '../../channels/workspace.js';
import { thisProcess, type ProcessOwner } from '../run-owner.js';
import { QueryFailedError } from '../../channels/sql/errors.js';
import { removeMaterializedData } from '../../channels/sql/materialized-data.js';

const KIND = 'ml-input-channel';
export const ML_INPUT_CHANNEL_KIND = KIND;

/**
 * The local extension of InputChannelDataSource: data that is already on this machine, used as it is.
 * AWS clients cannot send it (boto3 validates against the model); the TypeScript API and the CLI can.
 */
export interface LocalDataSource {
  /** A folder whose files become the channel's files. */
  path: string;
  /** How the files are announced to the algorithm (ContentType, FILE_FORMAT); default from the files' extensions. */
  resultFormat?: 'CSV' | 'PARQUET';
}

export type CreateMLInputChannelInput = T.CreateMLInputChannelRequest & {
  inputChannel: T.InputChannel & { dataSource: T.InputChannelDataSource & { localDataSource?: LocalDataSource } };
};

export interface ChannelData {
  /** Absolute host folder with the channel's files. */
  path: string;
  resultFormat: 'CSV' | 'PARQUET';
  /** Written by us from a query (ours to delete), rather than the user's own folder. */
  materialized?: boolean;
}

export type MLInputChannelRecord = Stored<T.GetMLInputChannelResponse> & {
  creatorAccountId: string;
  /** Where the channel's data is on this machine (absent once deleted, or when it failed). */
  data?: ChannelData;
  /** A SQL channel's query while it runs: which process runs it, and how many processes have started it. */
  query?: { owner: ProcessOwner; attempts: number };
};

/** Who is asking: a caller over HTTP may use only folders inside `localDataRoots` (none: no local data at all). */
export interface ChannelCaller {
  localDataRoots?: readonly string[];
}

export async function createMLInputChannel(
  ctx: ServiceContext,
  input: CreateMLInputChannelInput,
  caller: ChannelCaller = {},
): Promise<T.CreateMLInputChannelResponse> {
  assertMembership(ctx, input.membershipIdentifier);
  assertUserTags(input.tags);
  input.configuredModelAlgorithmAssociations.forEach((a) => getAssociationRecord(ctx, input.membershipIdentifier, a));
  const local = input.inputChannel.dataSource.localDataSource;
  const sql = input.inputChannel.dataSource.protectedQueryInputParameters;
  if (!local && !sql) {
    throw validationException([
      {
        path: 'inputChannel.dataSource',
        value: null,
        constraint: 'Member must name a data source (protectedQueryInputParameters, or localDataSource through the TypeScript API and the CLI)',
      },
    ]);
  }
  let data: ChannelData | undefined;
  let summary: { numberOfFiles: number; sizeInGb: number } | undefined;
  if (local) {
    const { path, described } = await localChannelData(ctx, local.path, caller);
    summary = { numberOfFiles: described.numberOfFiles, sizeInGb: described.sizeInBytes / 1024 ** 3 };
    if (local.resultFormat !== undefined && local.resultFormat !== 'CSV' && local.resultFormat !== 'PARQUET') {
      throw validationException([
        { path: 'inputChannel.dataSource.localDataSource.resultFormat', value: local.resultFormat, constraint: 'Member must satisfy enum value set: [CSV, PARQUET]' },
      ]);
    }
    data = { path, resultFormat: local.resultFormat ?? described.resultFormat };
  }
  const arn = arns.mlInputChannel(arnContext(ctx), input.membershipIdentifier, newResourceId());
  const now = nowIso(ctx);
  const { localDataSource: _local, ...awsDataSource } = input.inputChannel.dataSource;
  const body: MLInputChannelRecord = {
    membershipIdentifier: input.membershipIdentifier,
    collaborationIdentifier: ctx.settings.collaborationId,
    mlInputChannelArn: arn,
    name: input.name,
    configuredModelAlgorithmAssociations: input.configuredModelAlgorithmAssociations,
    status: data ? 'ACTIVE' : 'CREATE_PENDING',
    retentionInDays: input.retentionInDays,
    description: input.description,
    payerConfiguration: input.payerConfiguration,
    createTime: now,
    updateTime: now,
    inputChannel: { ...input.inputChannel, dataSource: awsDataSource },
    numberOfFiles: summary?.numberOfFiles,
    sizeInGb: summary?.sizeInGb,
    kmsKeyArn: input.kmsKeyArn,
    creatorAccountId: ctx.settings.accountId,
    data,
    ...(!data && sql ? { query: { owner: thisProcess(), attempts: 1 } } : {}),
  };
  ctx.store.insertWithTags({ kind: KIND, arn, membershipId: input.membershipIdentifier, status: body.status, body }, input.tags);
  if (!data && sql) ctx.background(runChannelQuery(ctx, arn, sql));
  return { mlInputChannelArn: arn };
}

/** The folder's real path and description, or the refusal as AccessDeniedException/ValidationException naming the path. */
async function localChannelData(ctx: ServiceContext, given: unknown, caller: ChannelCaller) {
  const member = 'inputChannel.dataSource.localDataSource.path';
  try {
    if (typeof given !== 'string') throw new LocalDataError('Member must be a string naming a folder');
    const path = await resolveLocalDataFolder(given, { roots: caller.localDataRoots });
    return { path, described: await describeLocalData(path, { maxEntries: ctx.settings.localDataMaxFiles }) };
  } catch (e) {
    if (!(e instanceof LocalDataError)) throw e;
    if (e.denied) throw new AccessDeniedException(`${e.message}: '${String(given)}' at '${member}' is refused.`);
    throw validationException([{ path: member, value: given, constraint: e.message }]);
  }
}

/** Where a SQL channel's query writes the channel's files. */
export function channelDataDir(ctx: ServiceContext, arn: string): string {
  return join(ctx.settings.dataDir, 'channels', resourceIdOfArn(arn), 'data');
}

/** CREATE_PENDING → ACTIVE with the query's result as the channel's files, or CREATE_FAILED with the engine's words. */
export async function runChannelQuery(ctx: ServiceContext, arn: string, sql: T.ProtectedQueryInputParameters): Promise<void> {
  const resultFormat = sql.resultFormat ?? 'CSV';
  const outDir = channelDataDir(ctx, arn);
  const set = (patch: Partial<MLInputChannelRecord>) =>
    ctx.store.update<MLInputChannelRecord>(KIND, arn, '', (c) => ({
      body: { ...c.body, ...patch, updateTime: nowIso(ctx) },
      status: patch.status ?? c.status,
    }));
  try {
    const queryString = sql.sqlParameters.queryString;
    if (!queryString) {
      throw new QueryFailedError('Only sqlParameters.queryString is supported locally (analysis templates live in AWS Clean Rooms).');
    }
    const workspace = loadDataDirWorkspace(ctx.settings.dataDir, ctx.settings.workspaceFile);
    const { settings } = ctx;
    // DuckDB is loaded only when a query runs: it is most of a CLI command's start otherwise.
    const { materializeQuery } = await import('../../channels/sql/materialize-query.js');
    const r = await materializeQuery({
      queryString,
      resultFormat,
      workspace,
      outDir,
      workspaceFile: settings.workspaceFile ?? join(settings.dataDir, WORKSPACE_FILE_NAME),
      limits: { timeoutMs: settings.sqlTimeoutMs, maxResultBytes: settings.sqlMaxResultBytes, memoryLimit: settings.sqlMemoryLimit, threads: settings.sqlThreads },
    });
    set({
      query: undefined,
      status: 'ACTIVE',
      numberOfRecords: r.numberOfRecords,
      numberOfFiles: r.numberOfFiles,
      sizeInGb: r.sizeInBytes / 1024 ** 3,
      data: { path: outDir, resultFormat, materialized: true },
    });
  } catch (e) {
    await removeMaterializedData(outDir).catch(() => undefined);
    const statusCode = e instanceof QueryFailedError || (e as Error).name === 'WorkspaceError' ? 'QUERY_FAILED' : 'INTERNAL_ERROR';
    set({ status: 'CREATE_FAILED', statusDetails: { statusCode, message: (e as Error).message }, query: undefined });
  }
}

export function getMLInputChannelRecord(ctx: ServiceContext, membershipId: string, arn: string): MLInputChannelRecord {
  const r = ctx.store.get<MLInputChannelRecord>(KIND, arn);
  if (!r || r.membershipId !== membershipId) throw notFound('ML input channel', arn);
  return r.body;
}

export function getMLInputChannel(ctx: ServiceContext, input: T.GetMLInputChannelRequest): T.GetMLInputChannelResponse {
  assertMembership(ctx, input.membershipIdentifier);
  const body = getMLInputChannelRecord(ctx, input.membershipIdentifier, input.mlInputChannelArn);
  return toOutput('GetMLInputChannelResponse', { ...body, tags: nonEmpty(ctx.store.getTags(body.mlInputChannelArn)) });
}

export function listMLInputChannels(ctx: ServiceContext, input: T.ListMLInputChannelsRequest): T.ListMLInputChannelsResponse {
  const { items, nextToken } = pageOfMembership<MLInputChannelRecord>(ctx, KIND, 'ListMLInputChannels', input);
  return toOutput('ListMLInputChannelsResponse', { mlInputChannelsList: items, nextToken });
}

export async function deleteMLInputChannelData(ctx: ServiceContext, input: T.DeleteMLInputChannelDataRequest): Promise<void> {
  assertMembership(ctx, input.membershipIdentifier);
  const arn = input.mlInputChannelArn;
  const body = getMLInputChannelRecord(ctx, input.membershipIdentifier, arn);
  if (body.status === 'INACTIVE') throw new ConflictException(`The data of ML input channel ${arn} was already deleted.`);
  const user = ctx.trainedModels.findReferencing('mlInputChannelArn', arn, { statuses: RUNNING_STATUSES });
  if (user) throw new ConflictException(`ML input channel ${arn} is being read by trained model ${user.arn}.`);
  // A local folder belongs to the user: forgetting it is the deletion. What a query wrote is ours to remove.
  if (body.data?.materialized) await removeMaterializedData(body.data.path);
  for (const status of ['DELETE_PENDING', 'DELETE_IN_PROGRESS', 'INACTIVE'] as const) {
    ctx.store.update<MLInputChannelRecord>(KIND, arn, '', (c) => ({
      body: { ...c.body, status, data: status === 'INACTIVE' ? undefined : c.body.data, updateTime: nowIso(ctx) },
      status,
    }));
  }
}
