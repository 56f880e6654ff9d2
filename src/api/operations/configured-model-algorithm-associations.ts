import type * as T from '../generated/types.js';
import { ConflictException } from '../generated/errors.js';
import { arns, newResourceId } from '../arns.js';
import { toOutput } from '../shape-output.js';
import { arnContext, assertMembership, assertUserTags, nonEmpty, notFound, pageOfMembership, createdNow, type ServiceContext, type Stored } from '../service-context.js';
import { getConfiguredModelAlgorithmRecord } from './configured-model-algorithms.js';
import { assertTrainedModelsConfigurationPolicy } from '../../privacy/index.js';

const KIND = 'configured-model-algorithm-association';
export type AssociationRecord = Stored<T.GetConfiguredModelAlgorithmAssociationResponse> & { creatorAccountId: string };

export function createConfiguredModelAlgorithmAssociation(
  ctx: ServiceContext,
  input: T.CreateConfiguredModelAlgorithmAssociationRequest,
): T.CreateConfiguredModelAlgorithmAssociationResponse {
  assertMembership(ctx, input.membershipIdentifier);
  assertUserTags(input.tags);
  assertTrainedModelsConfigurationPolicy(input.privacyConfiguration?.policies?.trainedModels);
  getConfiguredModelAlgorithmRecord(ctx, input.configuredModelAlgorithmArn);
  const arn = arns.configuredModelAlgorithmAssociation(arnContext(ctx), input.membershipIdentifier, newResourceId());
  const body: AssociationRecord = {
    ...createdNow(ctx),
    configuredModelAlgorithmAssociationArn: arn,
    membershipIdentifier: input.membershipIdentifier,
    collaborationIdentifier: ctx.settings.collaborationId,
    configuredModelAlgorithmArn: input.configuredModelAlgorithmArn,
    name: input.name,
    description: input.description,
    privacyConfiguration: input.privacyConfiguration,
    creatorAccountId: ctx.settings.accountId,
  };
  ctx.store.insertWithTags({ kind: KIND, arn, membershipId: input.membershipIdentifier, body }, input.tags);
  return { configuredModelAlgorithmAssociationArn: arn };
}

export function getAssociationRecord(ctx: ServiceContext, membershipId: string, arn: string): AssociationRecord {
  const r = ctx.store.get<AssociationRecord>(KIND, arn);
  if (!r || r.membershipId !== membershipId) throw notFound('Configured model algorithm association', arn);
  return r.body;
}

export function getConfiguredModelAlgorithmAssociation(
  ctx: ServiceContext,
  input: T.GetConfiguredModelAlgorithmAssociationRequest,
): T.GetConfiguredModelAlgorithmAssociationResponse {
  assertMembership(ctx, input.membershipIdentifier);
  const body = getAssociationRecord(ctx, input.membershipIdentifier, input.configuredModelAlgorithmAssociationArn);
  return toOutput('GetConfiguredModelAlgorithmAssociationResponse', {
    ...body,
    tags: nonEmpty(ctx.store.getTags(body.configuredModelAlgorithmAssociationArn)),
  });
}

export function listConfiguredModelAlgorithmAssociations(
  ctx: ServiceContext,
  input: T.ListConfiguredModelAlgorithmAssociationsRequest,
): T.ListConfiguredModelAlgorithmAssociationsResponse {
  const { items, nextToken } = pageOfMembership<AssociationRecord>(ctx, KIND, 'ListConfiguredModelAlgorithmAssociations', input);
  return toOutput('ListConfiguredModelAlgorithmAssociationsResponse', { configuredModelAlgorithmAssociations: items, nextToken });
}

export function deleteConfiguredModelAlgorithmAssociation(
  ctx: ServiceContext,
  input: T.DeleteConfiguredModelAlgorithmAssociationRequest,
): void {
  assertMembership(ctx, input.membershipIdentifier);
  const arn = input.configuredModelAlgorithmAssociationArn;
  getAssociationRecord(ctx, input.membershipIdentifier, arn);
  const inUse = { membershipId: input.membershipIdentifier, exceptStatuses: ['INACTIVE'] };
  const channel = ctx.store.findReferencing('ml-input-channel', 'configuredModelAlgorithmAssociations', arn, inUse);
  if (channel) {
    throw new ConflictException(
      `Configured model algorithm association ${arn} is used by ML input channel ${channel.arn}; delete that channel's data first.`,
    );
  }
  const model = ctx.trainedModels.findReferencing('configuredModelAlgorithmAssociationArn', arn, inUse);
  if (model) {
    throw new ConflictException(
      `Configured model algorithm association ${arn} is used by trained model ${model.arn}${model.versionId ? ` version ${model.versionId}` : ''}; delete its output first.`,
    );
  }
  ctx.store.delete(KIND, arn);
}
