import { existsSync } from 'node:fs';
import type * as T from '../generated/types.js';
import { ConflictException, ValidationException } from '../generated/errors.js';
import { arns, newResourceId } from '../arns.js';
import { page } from '../pagination.js';
import { toOutput } from '../shape-output.js';
import { validationException } from '../validation.js';
import { arnContext, assertCollaboration, assertMembership, assertQuotas, assertUserTags, createdNow, nonEmpty, notFound, type ServiceContext } from '../service-context.js';
import { INFERENCE_JOB_KIND, RUNNING_INFERENCE_STATUSES, type InferenceJobRecord, type InferenceRunSpec } from '../inference-job-coordinator.js';
import { maxArtifactBytes } from '../../privacy/index.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { getConfiguredModelAlgorithmRecord } from './configured-model-algorithms.js';
import { getMLInputChannelRecord } from './ml-input-channels.js';
import { getTrainedModelRecord } from './trained-models.js';

/** containerExecutionParameters.maxPayloadInMB when a request gives none: SageMaker batch transform's default (decided). */
export const DEFAULT_MAX_PAYLOAD_MB = 6;
const MB = 1024 * 1024;

export function startTrainedModelInferenceJob(ctx: ServiceContext, input: T.StartTrainedModelInferenceJobRequest): T.StartTrainedModelInferenceJobResponse {
  const membershipId = input.membershipIdentifier;
  assertMembership(ctx, membershipId);
  assertUserTags(input.tags);
  const model = getTrainedModelRecord(ctx, membershipId, input.trainedModelArn, input.trainedModelVersionIdentifier);
  const which = `Trained model ${input.trainedModelArn}${model.versionIdentifier ? ` version ${model.versionIdentifier}` : ''}`;
  if (model.status !== 'ACTIVE') throw new ConflictException(`${which} is ${model.status}; inference needs an ACTIVE trained model.`);
  const modelArtifactPath = model.run?.modelArtifactPath;
  if (!modelArtifactPath || !existsSync(modelArtifactPath)) {
    throw new ConflictException(`${which} has no model artifacts (its algorithm left /opt/ml/model empty, or its output was deleted).`);
  }
  const associationArn = input.configuredModelAlgorithmAssociationArn ?? model.configuredModelAlgorithmAssociationArn;
  if (associationArn !== model.configuredModelAlgorithmAssociationArn) {
    throw validationException([
      {
        path: 'configuredModelAlgorithmAssociationArn',
        value: associationArn,
        constraint: `Member must be the association the trained model was trained with (${model.configuredModelAlgorithmAssociationArn})`,
      },
    ]);
  }
  const association = getAssociationRecord(ctx, membershipId, associationArn);
  const algorithm = getConfiguredModelAlgorithmRecord(ctx, association.configuredModelAlgorithmArn);
  const container = algorithm.inferenceContainerConfig;
  if (!container) {
    throw new ValidationException(
      `Configured model algorithm ${algorithm.configuredModelAlgorithmArn} has no inferenceContainerConfig, so it cannot run inference.`,
    );
  }
  const channelArn = input.dataSource.mlInputChannelArn;
  const channel = getMLInputChannelRecord(ctx, membershipId, channelArn);
  if (channel.status !== 'ACTIVE' || !channel.data) throw new ConflictException(`ML input channel ${channelArn} is ${channel.status}, not ACTIVE.`);
  if (!channel.configuredModelAlgorithmAssociations.includes(associationArn)) {
    throw new ValidationException(`ML input channel ${channelArn} is not configured for association ${associationArn}.`);
  }

  const policy = association.privacyConfiguration?.policies?.trainedModelInferenceJobs;
  const arn = arns.trainedModelInferenceJob(arnContext(ctx), membershipId, newResourceId());
  const instanceCount = input.resourceConfig.instanceCount ?? 1;
  const maxPayloadInMB = input.containerExecutionParameters?.maxPayloadInMB ?? DEFAULT_MAX_PAYLOAD_MB;
  const record: Omit<InferenceJobRecord, 'run'> = {
    ...createdNow(ctx),
    trainedModelInferenceJobArn: arn,
    membershipIdentifier: membershipId,
    collaborationIdentifier: ctx.settings.collaborationId,
    creatorAccountId: ctx.settings.accountId,
    configuredModelAlgorithmAssociationArn: associationArn,
    name: input.name,
    description: input.description,
    status: 'CREATE_PENDING',
    trainedModelArn: input.trainedModelArn,
    trainedModelVersionIdentifier: model.versionIdentifier,
    resourceConfig: { instanceType: input.resourceConfig.instanceType, instanceCount },
    outputConfiguration: input.outputConfiguration,
    dataSource: input.dataSource,
    containerExecutionParameters: { maxPayloadInMB },
    environment: input.environment,
    kmsKeyArn: input.kmsKeyArn,
    mlModelInferencePayerAccountId: input.mlModelInferencePayerAccountId,
  };
  const maxOutputBytes = maxArtifactBytes(policy?.maxOutputSize);
  const spec: InferenceRunSpec = {
    trainedModelInferenceJobArn: arn,
    name: input.name,
    membershipIdentifier: membershipId,
    imageUri: container.imageUri,
    environment: input.environment ?? {},
    instanceType: input.resourceConfig.instanceType,
    instanceCount,
    modelArtifactPath,
    input: { hostPath: channel.data.path, contentType: channel.data.resultFormat === 'PARQUET' ? 'application/x-parquet' : 'text/csv' },
    ...(input.outputConfiguration.accept ? { accept: input.outputConfiguration.accept } : {}),
    maxPayloadBytes: maxPayloadInMB * MB,
    ...(maxOutputBytes !== undefined ? { maxOutputBytes } : {}),
    // The API has no stopping condition for inference: the training default bounds it (decided).
    maxRuntimeInSeconds: ctx.settings.defaultMaxRuntimeSeconds,
  };
  ctx.inference.start(record, spec, { tags: input.tags, check: () => checkQuota(ctx, membershipId) });
  return { trainedModelInferenceJobArn: arn };
}

/** The trained models' quota, counted separately for inference jobs pending or in progress (decided). */
function checkQuota(ctx: ServiceContext, membershipId: string): void {
  assertQuotas(ctx, ctx.store.listByStatus<InferenceJobRecord>(INFERENCE_JOB_KIND, RUNNING_INFERENCE_STATUSES), membershipId, 'inference jobs');
}

export function getInferenceJobRecord(ctx: ServiceContext, membershipId: string, arn: string): InferenceJobRecord {
  const r = ctx.store.get<InferenceJobRecord>(INFERENCE_JOB_KIND, arn);
  if (!r || r.membershipId !== membershipId) throw notFound('Trained model inference job', arn);
  return r.body;
}

export function getTrainedModelInferenceJob(ctx: ServiceContext, input: T.GetTrainedModelInferenceJobRequest): T.GetTrainedModelInferenceJobResponse {
  assertMembership(ctx, input.membershipIdentifier);
  const body = getInferenceJobRecord(ctx, input.membershipIdentifier, input.trainedModelInferenceJobArn);
  return toOutput('GetTrainedModelInferenceJobResponse', { ...body, tags: nonEmpty(ctx.store.getTags(body.trainedModelInferenceJobArn)) });
}

/** The list filters: a trained model, and one of its versions. */
function filters(input: { trainedModelArn?: string; trainedModelVersionIdentifier?: string }): Record<string, string> {
  return {
    ...(input.trainedModelArn ? { trainedModelArn: input.trainedModelArn } : {}),
    ...(input.trainedModelVersionIdentifier ? { trainedModelVersionIdentifier: input.trainedModelVersionIdentifier } : {}),
  };
}

export function listTrainedModelInferenceJobs(ctx: ServiceContext, input: T.ListTrainedModelInferenceJobsRequest): T.ListTrainedModelInferenceJobsResponse {
  assertMembership(ctx, input.membershipIdentifier);
  const bodyEquals = filters(input);
  const scope = `ListTrainedModelInferenceJobs/${input.membershipIdentifier}/${JSON.stringify(bodyEquals)}`;
  const { items, nextToken } = page(scope, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    ctx.store.list<InferenceJobRecord>({ kind: INFERENCE_JOB_KIND, membershipId: input.membershipIdentifier, beforeSeq, limit, bodyEquals }),
  );
  return toOutput('ListTrainedModelInferenceJobsResponse', { trainedModelInferenceJobs: items.map((i) => i.body), nextToken });
}

export function listCollaborationTrainedModelInferenceJobs(
  ctx: ServiceContext,
  input: T.ListCollaborationTrainedModelInferenceJobsRequest,
): T.ListCollaborationTrainedModelInferenceJobsResponse {
  assertCollaboration(ctx, input.collaborationIdentifier);
  const bodyEquals = filters(input);
  const scope = `ListCollaborationTrainedModelInferenceJobs/${input.collaborationIdentifier}/${JSON.stringify(bodyEquals)}`;
  const { items, nextToken } = page(scope, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    // One local collaboration: every stored job belongs to it.
    ctx.store.list<InferenceJobRecord>({ kind: INFERENCE_JOB_KIND, beforeSeq, limit, bodyEquals }),
  );
  return toOutput('ListCollaborationTrainedModelInferenceJobsResponse', {
    collaborationTrainedModelInferenceJobs: items.map((i) => i.body),
    nextToken,
  });
}

export function cancelTrainedModelInferenceJob(ctx: ServiceContext, input: T.CancelTrainedModelInferenceJobRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const body = getInferenceJobRecord(ctx, input.membershipIdentifier, input.trainedModelInferenceJobArn);
  const refused = (status: string) =>
    new ConflictException(`Trained model inference job ${input.trainedModelInferenceJobArn} is ${status}; only a job that is pending or in progress can be cancelled.`);
  if (!RUNNING_INFERENCE_STATUSES.includes(body.status)) throw refused(body.status);
  // Through the transition table: the job may have ended since the read above.
  if (!ctx.inference.cancel(input.trainedModelInferenceJobArn)) throw refused(ctx.inference.get(input.trainedModelInferenceJobArn)?.status ?? 'gone');
}
