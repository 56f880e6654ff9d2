import type * as T from '../generated/types.js';
import {
  ConflictException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ValidationException,
} from '../generated/errors.js';
import { arns, newResourceId } from '../arns.js';
import { page } from '../pagination.js';
import { toOutput } from '../shape-output.js';
import {
  arnContext,
  assertMembership,
  assertUserTags,
  nonEmpty,
  notFound,
  pageOfMembership,
  nowIso,
  type ServiceContext,
  type Stored,
} from '../service-context.js';
import { CANCELLABLE_STATUSES, FINISHED_STATUSES, RUNNING_STATUSES } from '../trained-model-status.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { getConfiguredModelAlgorithmRecord } from './configured-model-algorithms.js';
import { getMLInputChannelRecord } from './ml-input-channels.js';
import type { ChannelSpec, TrainingJobSpec } from '../../runner/types.js';
import type { AppliedLimits } from '../../runner/resource-limits.js';
import type { RunOwner } from '../training-coordinator.js';

const KIND = 'trained-model';
/** contract §6 (decided): the default stopping condition. */
export const DEFAULT_MAX_RUNTIME_SECONDS = 86_400;

export interface RunRecord {
  /** The request as the runner got it: what a process taking over needs. */
  spec?: Omit<TrainingJobSpec, 'artifactsDir'>;
  owner?: RunOwner;
  /** The association's privacy limit on what the run may package. */
  maxArtifactSize?: T.TrainedModelArtifactMaxSize;
  /** The limits the container got: the instance type's, or less when this host is smaller (then `scaledDown` says so). */
  limits?: AppliedLimits;
  artifactsDir: string;
  modelArtifactPath?: string;
  outputArtifactPath?: string;
  exitCode?: number;
  startedAt?: string;
  endedAt?: string;
}

export type TrainedModelRecord = Stored<T.GetTrainedModelResponse> & {
  creatorAccountId: string;
  run?: RunRecord;
};

function validationError(member: string, value: string, constraint: string): ValidationException {
  return new ValidationException(
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

export function createTrainedModel(ctx: ServiceContext, input: T.CreateTrainedModelRequest): T.CreateTrainedModelResponse {
  const membershipId = input.membershipIdentifier;
  assertMembership(ctx, membershipId);
  assertUserTags(input.tags);
  const association = getAssociationRecord(ctx, membershipId, input.configuredModelAlgorithmAssociationArn);
  const algorithm = getConfiguredModelAlgorithmRecord(ctx, association.configuredModelAlgorithmArn);
  const container = algorithm.trainingContainerConfig;
  if (!container) {
    throw new ValidationException(
      `Configured model algorithm ${algorithm.configuredModelAlgorithmArn} has no trainingContainerConfig, so it cannot train a model.`,
    );
  }
  if (input.incrementalTrainingDataChannels?.length) {
    throw validationError(
      'incrementalTrainingDataChannels',
      input.incrementalTrainingDataChannels[0]!.trainedModelArn,
      'Incremental training is not available in this version of cleanrooms-ml-local',
    );
  }
  const instanceCount = input.resourceConfig.instanceCount ?? 1;

  const seen = new Set<string>();
  const channels: ChannelSpec[] = input.dataChannels.map((dc, i) => {
    if (seen.has(dc.channelName)) {
      throw validationError(`dataChannels.${i + 1}.member.channelName`, dc.channelName, 'Channel names must be unique');
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

  const arn = arns.trainedModel(arnContext(ctx), membershipId, newResourceId());
  const now = nowIso(ctx);
  const body: TrainedModelRecord = {
    membershipIdentifier: membershipId,
    collaborationIdentifier: ctx.settings.collaborationId,
    trainedModelArn: arn,
    name: input.name,
    description: input.description,
    status: 'CREATE_PENDING',
    configuredModelAlgorithmAssociationArn: input.configuredModelAlgorithmAssociationArn,
    resourceConfig: { ...input.resourceConfig, instanceCount },
    trainingInputMode: input.trainingInputMode ?? 'File',
    stoppingCondition: { maxRuntimeInSeconds: input.stoppingCondition?.maxRuntimeInSeconds ?? DEFAULT_MAX_RUNTIME_SECONDS },
    mlModelTrainingPayerAccountId: input.mlModelTrainingPayerAccountId,
    createTime: now,
    updateTime: now,
    hyperparameters: input.hyperparameters,
    environment: input.environment,
    kmsKeyArn: input.kmsKeyArn,
    dataChannels: input.dataChannels,
    creatorAccountId: ctx.settings.accountId,
    run: {
      artifactsDir: ctx.training.artifactsDir(arn, ''),
      maxArtifactSize: association.privacyConfiguration?.policies?.trainedModels?.maxArtifactSize,
    },
  };

  ctx.store.transaction(() => {
    // Quotas are checked inside the transaction so two processes cannot both take the last slot.
    const running = ctx.store.listByStatus<TrainedModelRecord>(KIND, RUNNING_STATUSES);
    const inMembership = running.filter((r) => r.membershipId === membershipId).length;
    if (inMembership >= ctx.settings.quotaPerMembership) {
      throw new ServiceQuotaExceededException(
        `Membership ${membershipId} already has ${inMembership} trained models pending or in progress; the quota is ${ctx.settings.quotaPerMembership}.`,
      );
    }
    if (running.length >= ctx.settings.quotaPerAccount) {
      throw new ServiceQuotaExceededException(
        `Account ${ctx.settings.accountId} already has ${running.length} trained models pending or in progress; the quota is ${ctx.settings.quotaPerAccount}.`,
      );
    }
    ctx.store.insert({ kind: KIND, arn, membershipId, status: body.status, body });
    if (input.tags) ctx.store.setTags(arn, input.tags);
  });

  const spec: Omit<TrainingJobSpec, 'artifactsDir'> = {
    trainedModelArn: arn,
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
  };
  ctx.training.start(arn, '', spec);
  return { trainedModelArn: arn };
}

export function getTrainedModelRecord(
  ctx: ServiceContext,
  membershipId: string,
  arn: string,
  versionId?: string,
): TrainedModelRecord {
  const r = ctx.store.get<TrainedModelRecord>(KIND, arn, versionId ?? '');
  if (!r || r.membershipId !== membershipId) {
    if (versionId && ctx.store.get(KIND, arn)) {
      throw new ResourceNotFoundException(`Trained model ${arn} has no version ${versionId}.`);
    }
    throw notFound('Trained model', arn);
  }
  return r.body;
}

export function getTrainedModel(ctx: ServiceContext, input: T.GetTrainedModelRequest): T.GetTrainedModelResponse {
  assertMembership(ctx, input.membershipIdentifier);
  const body = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
  return toOutput('GetTrainedModelResponse', { ...body, tags: nonEmpty(ctx.store.getTags(body.trainedModelArn)) });
}

export function listTrainedModels(ctx: ServiceContext, input: T.ListTrainedModelsRequest): T.ListTrainedModelsResponse {
  const { items, nextToken } = pageOfMembership<TrainedModelRecord>(ctx, KIND, 'ListTrainedModels', input);
  return toOutput('ListTrainedModelsResponse', { trainedModels: items, nextToken });
}

export function listTrainedModelVersions(
  ctx: ServiceContext,
  input: T.ListTrainedModelVersionsRequest,
): T.ListTrainedModelVersionsResponse {
  assertMembership(ctx, input.membershipIdentifier);
  getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn);
  const scope = `ListTrainedModelVersions/${input.trainedModelArn}/${input.status ?? ''}`;
  const { items, nextToken } = page(scope, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    ctx.store
      .list<TrainedModelRecord>({ kind: KIND, arn: input.trainedModelArn, beforeSeq, limit, status: input.status })
      .filter((r) => r.versionId !== ''),
  );
  return toOutput('ListTrainedModelVersionsResponse', { trainedModels: items.map((i) => i.body), nextToken });
}

export function cancelTrainedModel(ctx: ServiceContext, input: T.CancelTrainedModelRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const versionId = input.versionIdentifier ?? '';
  const body = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
  if (!CANCELLABLE_STATUSES.includes(body.status)) {
    throw new ConflictException(`Trained model ${input.trainedModelArn} is ${body.status}; only a run that is pending or in progress can be cancelled.`);
  }
  ctx.store.update<TrainedModelRecord>(KIND, input.trainedModelArn, versionId, (c) => ({
    body: { ...c.body, status: 'CANCEL_PENDING', updateTime: nowIso(ctx) },
    status: 'CANCEL_PENDING',
  }));
  // The run may live in this process or in another one, which sees CANCEL_PENDING in the store.
  ctx.training.cancel(input.trainedModelArn, versionId);
}

export function deleteTrainedModelOutput(ctx: ServiceContext, input: T.DeleteTrainedModelOutputRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const versionId = input.versionIdentifier ?? '';
  const body = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
  if (!FINISHED_STATUSES.includes(body.status)) {
    throw new ConflictException(
      `Trained model ${input.trainedModelArn} is ${body.status}; its output can be deleted once it is ACTIVE or CREATE_FAILED.`,
    );
  }
  ctx.training.deleteOutput(input.trainedModelArn, versionId);
}
