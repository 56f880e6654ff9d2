import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type * as T from '../generated/types.js';
import {
  ConflictException,
  ResourceNotFoundException,
  ValidationException,
} from '../generated/errors.js';
import { arns, newResourceId } from '../arns.js';
import { page } from '../pagination.js';
import { toOutput } from '../shape-output.js';
import { deepFreeze } from '../store.js';
import { validationException } from '../validation.js';
import { assertTrainingInput } from '../training-input-rules.js';
import { assertPlacementInput } from '../placement-rules.js';
import { arnContext, assertMembership, assertQuotas, assertUserTags, nonEmpty, notFound, pageOfMembership, nowIso, type ServiceContext } from '../service-context.js';
import { CANCELLABLE_STATUSES, FINISHED_STATUSES, RUNNING_STATUSES } from '../trained-model-status.js';
import { TRAINED_MODEL_KIND, type RunSpec, type TrainedModelRecord } from '../trained-model-records.js';
import { maxArtifactBytes } from '../../privacy/index.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { getConfiguredModelAlgorithmRecord } from './configured-model-algorithms.js';
import { getMLInputChannelRecord } from './ml-input-channels.js';
import type { ChannelSpec } from '../../runner/types.js';

/** ModelTrainingDataChannels' maximum, which applies to data and incremental channels together. */
const MAX_CHANNELS = 20;

/** What an in-process caller (the service's train) may add that the API cannot carry. */
export interface CreateTrainedModelExtras {
  /** Extra labels on every container and network of the run (a test session's, for its cleanup). */
  labels?: Record<string, string>;
}

export function createTrainedModel(ctx: ServiceContext, input: T.CreateTrainedModelRequest, extras: CreateTrainedModelExtras = {}): T.CreateTrainedModelResponse {
  const membershipId = input.membershipIdentifier;
  assertMembership(ctx, membershipId);
  assertUserTags(input.tags);
  assertTrainingInput(input);
  assertPlacementInput(input, ctx.settings);
  const association = getAssociationRecord(ctx, membershipId, input.configuredModelAlgorithmAssociationArn);
  const algorithm = getConfiguredModelAlgorithmRecord(ctx, association.configuredModelAlgorithmArn);
  const container = algorithm.trainingContainerConfig;
  if (!container) {
    throw new ValidationException(
      `Configured model algorithm ${algorithm.configuredModelAlgorithmArn} has no trainingContainerConfig, so it cannot train a model.`,
    );
  }
  const instanceCount = input.resourceConfig.instanceCount ?? 1;
  const totalChannels = input.dataChannels.length + (input.incrementalTrainingDataChannels?.length ?? 0);
  if (totalChannels > MAX_CHANNELS) {
    throw validationException([
      { path: 'dataChannels', value: String(totalChannels), constraint: `A trained model can have at most ${MAX_CHANNELS} channels, incremental training channels included` },
    ]);
  }

  const seen = new Set<string>((input.incrementalTrainingDataChannels ?? []).map((c) => c.channelName));
  const channels: ChannelSpec[] = input.dataChannels.map((dc, i) => {
    if (seen.has(dc.channelName)) {
      throw validationException([
        {
          path: `dataChannels.${i + 1}.member.channelName`,
          value: dc.channelName,
          constraint: 'Channel names must be unique across dataChannels and incrementalTrainingDataChannels',
        },
      ]);
    }
    seen.add(dc.channelName);
    const channel = getMLInputChannelRecord(ctx, membershipId, dc.mlInputChannelArn);
    if (channel.status !== 'ACTIVE' || !channel.data) {
      throw new ConflictException(`ML input channel ${dc.mlInputChannelArn} is ${channel.status}, not ACTIVE.`);
    }
    if (!channel.configuredModelAlgorithmAssociations.includes(association.configuredModelAlgorithmAssociationArn)) {
      throw new ValidationException(
        `ML input channel ${dc.mlInputChannelArn} is not configured for association ${association.configuredModelAlgorithmAssociationArn}.`,
      );
    }
    return {
      channelName: dc.channelName,
      hostPath: channel.data.path,
      contentType: channel.data.resultFormat === 'PARQUET' ? 'application/x-parquet' : 'text/csv',
      s3DataDistributionType: dc.s3DataDistributionType ?? 'FullyReplicated',
    };
  });

  // Incremental training makes a new version of the base trained model: the same ARN, a new version identifier.
  const incremental = input.incrementalTrainingDataChannels?.[0];
  const base = incremental && incrementalBase(ctx, membershipId, incremental);
  const arn = base ? base.record.trainedModelArn : arns.trainedModel(arnContext(ctx), membershipId, newResourceId());
  const versionId = base ? randomUUID() : '';
  const now = nowIso(ctx);
  const body: TrainedModelRecord = {
    membershipIdentifier: membershipId,
    collaborationIdentifier: ctx.settings.collaborationId,
    trainedModelArn: arn,
    versionIdentifier: versionId || undefined,
    incrementalTrainingDataChannels:
      base && incremental
        ? [{ channelName: incremental.channelName, versionIdentifier: base.record.versionIdentifier, modelName: base.record.name }]
        : undefined,
    name: input.name,
    description: input.description,
    status: 'CREATE_PENDING',
    configuredModelAlgorithmAssociationArn: input.configuredModelAlgorithmAssociationArn,
    resourceConfig: { ...input.resourceConfig, instanceCount },
    trainingInputMode: input.trainingInputMode ?? 'File',
    stoppingCondition: { maxRuntimeInSeconds: input.stoppingCondition?.maxRuntimeInSeconds ?? ctx.settings.defaultMaxRuntimeSeconds },
    mlModelTrainingPayerAccountId: input.mlModelTrainingPayerAccountId,
    createTime: now,
    updateTime: now,
    hyperparameters: input.hyperparameters,
    environment: input.environment,
    kmsKeyArn: input.kmsKeyArn,
    dataChannels: input.dataChannels,
    creatorAccountId: ctx.settings.accountId,
  };

  if (base && incremental) channels.push(linkBaseModel(ctx, arn, versionId, incremental.channelName, base.modelArtifactPath));
  const maxArtifactSize = association.privacyConfiguration?.policies?.trainedModels?.maxArtifactSize;
  const spec: RunSpec = {
    trainedModelArn: arn,
    ...(versionId ? { versionIdentifier: versionId } : {}),
    name: input.name,
    membershipIdentifier: membershipId,
    imageUri: container.imageUri,
    entrypoint: container.entrypoint,
    arguments: container.arguments,
    metricDefinitions: container.metricDefinitions ?? [],
    hyperparameters: input.hyperparameters ?? {},
    environment: input.environment ?? {},
    instanceType: input.resourceConfig.instanceType,
    instanceCount,
    volumeSizeInGB: input.resourceConfig.volumeSizeInGB,
    maxRuntimeInSeconds: body.stoppingCondition!.maxRuntimeInSeconds!,
    trainingInputMode: body.trainingInputMode!,
    channels,
    ...(extras.labels && Object.keys(extras.labels).length > 0 ? { labels: { ...extras.labels } } : {}),
    // The association's privacy limit: the runner fails a run that packages more, before writing its manifest.
    ...(maxArtifactSize ? { maxArtifactBytes: maxArtifactBytes(maxArtifactSize) } : {}),
  };
  try {
    ctx.training.start(body, spec, { tags: input.tags, check: () => checkQuotas(ctx, membershipId) });
  } catch (e) {
    if (base) rmSync(ctx.trainedModels.inputsDir(arn, versionId), { recursive: true, force: true });
    throw e;
  }
  return toOutput('CreateTrainedModelResponse', { trainedModelArn: arn, versionIdentifier: versionId || undefined });
}

/** The quotas (contract §6): checked in the insert's transaction, so that two processes cannot both take the last slot. */
function checkQuotas(ctx: ServiceContext, membershipId: string): void {
  assertQuotas(ctx, ctx.trainedModels.listByStatus(RUNNING_STATUSES), membershipId, 'trained models');
}

/**
 * The version an incremental training channel builds on: the one named, or else the latest. It must have
 * finished ACTIVE and still have its model artifacts.
 */
function incrementalBase(
  ctx: ServiceContext,
  membershipId: string,
  channel: T.IncrementalTrainingDataChannel,
): { record: TrainedModelRecord; modelArtifactPath: string } {
  const record = getTrainedModelRecord(ctx, membershipId, channel.trainedModelArn, channel.versionIdentifier);
  const which = `Trained model ${channel.trainedModelArn}${record.versionIdentifier ? ` version ${record.versionIdentifier}` : ''}`;
  if (record.status !== 'ACTIVE') {
    throw new ConflictException(`${which} is ${record.status}; incremental training needs an ACTIVE base model.`);
  }
  const modelArtifactPath = record.run?.modelArtifactPath;
  if (!modelArtifactPath || !existsSync(modelArtifactPath)) {
    throw new ConflictException(
      `${which} has no model artifacts to train from (its algorithm left /opt/ml/model empty, or its output was deleted).`,
    );
  }
  return { record, modelArtifactPath };
}

/**
 * The base model's model.tar.gz, handed over as SageMaker does for incremental training: the archive itself, in
 * a folder of its own that becomes the channel. A hard link costs nothing and outlives a DeleteTrainedModelOutput
 * of the base while this run reads it.
 */
function linkBaseModel(ctx: ServiceContext, arn: string, versionId: string, channelName: string, modelArtifactPath: string): ChannelSpec {
  const folder = join(ctx.trainedModels.inputsDir(arn, versionId), channelName);
  mkdirSync(folder, { recursive: true });
  const target = join(folder, basename(modelArtifactPath));
  try {
    linkSync(modelArtifactPath, target);
  } catch {
    copyFileSync(modelArtifactPath, target);
  }
  return { channelName, hostPath: folder, contentType: 'application/x-sagemaker-model', s3DataDistributionType: 'FullyReplicated' };
}

/**
 * One version of a trained model. Without a version identifier, `otherwise` says which: the latest (what
 * GetTrainedModel and incremental training default to) or the base (CancelTrainedModel, DeleteTrainedModelOutput).
 */
export function getTrainedModelRecord(
  ctx: ServiceContext,
  membershipId: string,
  arn: string,
  versionId?: string,
  otherwise: 'latest' | 'base' = 'latest',
): TrainedModelRecord {
  const r = ctx.trainedModels.version(arn, versionId ?? (otherwise === 'base' ? '' : undefined));
  if (!r || r.membershipId !== membershipId) {
    if (versionId && ctx.trainedModels.get(arn)) {
      throw new ResourceNotFoundException(`Trained model ${arn} has no version ${versionId}.`);
    }
    throw notFound('Trained model', arn);
  }
  return r.body;
}

export function getTrainedModel(ctx: ServiceContext, input: T.GetTrainedModelRequest): T.GetTrainedModelResponse {
  assertMembership(ctx, input.membershipIdentifier);
  // The record and its tags in one read (the endpoint's most frequent call); a miss says why as getTrainedModelRecord does.
  const found = ctx.trainedModels.versionWithTags(input.trainedModelArn, input.versionIdentifier);
  if (!found || found.record.membershipId !== input.membershipIdentifier) {
    getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
    throw notFound('Trained model', input.trainedModelArn);
  }
  const known = renderedTrainedModels.get(found);
  if (known) return known;
  // Tags are kept under the record's ARN, which is the body's trainedModelArn.
  const output = deepFreeze(toOutput<T.GetTrainedModelResponse>('GetTrainedModelResponse', { ...found.record.body, tags: nonEmpty(found.tags) }));
  renderedTrainedModels.set(found, output);
  return output;
}

/**
 * GetTrainedModel's answer per store answer: the store gives the same (frozen) object while the record and its
 * tags are unchanged, so a polled model is rendered once. Frozen too, so the endpoint may keep its wire form.
 */
const renderedTrainedModels = new WeakMap<object, T.GetTrainedModelResponse>();

export function listTrainedModels(ctx: ServiceContext, input: T.ListTrainedModelsRequest): T.ListTrainedModelsResponse {
  const { items, nextToken } = pageOfMembership<TrainedModelRecord>(ctx, TRAINED_MODEL_KIND, 'ListTrainedModels', input);
  return toOutput('ListTrainedModelsResponse', { trainedModels: items, nextToken });
}

export function listTrainedModelVersions(
  ctx: ServiceContext,
  input: T.ListTrainedModelVersionsRequest,
): T.ListTrainedModelVersionsResponse {
  assertMembership(ctx, input.membershipIdentifier);
  getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn);
  // Every version, the base one (no versionIdentifier) included, newest first (decided).
  const scope = `ListTrainedModelVersions/${input.trainedModelArn}/${input.status ?? ''}`;
  const { items, nextToken } = page(scope, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    ctx.trainedModels.list({ arn: input.trainedModelArn, beforeSeq, limit, status: input.status }),
  );
  return toOutput('ListTrainedModelVersionsResponse', { trainedModels: items.map((i) => i.body), nextToken });
}

export function cancelTrainedModel(ctx: ServiceContext, input: T.CancelTrainedModelRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const versionId = input.versionIdentifier ?? '';
  const body = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier, 'base');
  const refused = (status: string) =>
    new ConflictException(`Trained model ${input.trainedModelArn} is ${status}; only a run that is pending or in progress can be cancelled.`);
  if (!CANCELLABLE_STATUSES.includes(body.status)) throw refused(body.status);
  // Through the transition table: the run may have ended since the read above.
  if (!ctx.trainedModels.transition(input.trainedModelArn, versionId, 'CANCEL_PENDING')) {
    throw refused(ctx.trainedModels.get(input.trainedModelArn, versionId)?.body.status ?? 'gone');
  }
  // The run may live in this process or in another one, which sees CANCEL_PENDING in the store.
  ctx.training.cancel(input.trainedModelArn, versionId);
}

export function deleteTrainedModelOutput(ctx: ServiceContext, input: T.DeleteTrainedModelOutputRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const versionId = input.versionIdentifier ?? '';
  const body = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier, 'base');
  if (!FINISHED_STATUSES.includes(body.status)) {
    throw new ConflictException(
      `Trained model ${input.trainedModelArn} is ${body.status}; its output can be deleted once it is ACTIVE or CREATE_FAILED.`,
    );
  }
  ctx.training.deleteOutput(input.trainedModelArn, versionId);
}
