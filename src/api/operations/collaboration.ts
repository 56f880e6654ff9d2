import type * as T from '../generated/types.js';
import { page } from '../pagination.js';
import { toOutput } from '../shape-output.js';
import { assertCollaboration, notFound, type ServiceContext } from '../service-context.js';
import type { ResourceKind, StoredResource } from '../store.js';
import { TRAINED_MODEL_KIND } from '../trained-model-records.js';

/**
 * The collaboration views: what every member of the collaboration may see. Rendering through the
 * collaboration output shapes drops what those shapes leave out (hyperparameters, environment,
 * data channels, tags, the local data's location).
 */

function getInCollaboration<B extends { collaborationIdentifier: string }>(
  ctx: ServiceContext,
  kind: ResourceKind,
  what: string,
  collaborationId: string,
  arn: string,
): B {
  assertCollaboration(ctx, collaborationId);
  const r = ctx.store.get<B>(kind, arn);
  if (!r || r.body.collaborationIdentifier !== collaborationId) throw notFound(what, arn);
  return r.body;
}

function listInCollaboration<B>(
  ctx: ServiceContext,
  kind: ResourceKind,
  op: string,
  input: { collaborationIdentifier: string; maxResults?: number; nextToken?: string },
): { items: StoredResource<B>[]; nextToken?: string } {
  assertCollaboration(ctx, input.collaborationIdentifier);
  return page(`${op}/${input.collaborationIdentifier}`, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    // One local collaboration: every stored record belongs to it.
    ctx.store.list<B>({ kind, beforeSeq, limit }),
  );
}

export function getCollaborationTrainedModel(
  ctx: ServiceContext,
  input: T.GetCollaborationTrainedModelRequest,
): T.GetCollaborationTrainedModelResponse {
  assertCollaboration(ctx, input.collaborationIdentifier);
  // Without a version: the latest, as GetTrainedModel answers.
  const r = ctx.trainedModels.version(input.trainedModelArn, input.versionIdentifier);
  if (!r || r.body.collaborationIdentifier !== input.collaborationIdentifier) throw notFound('Trained model', input.trainedModelArn);
  return toOutput('GetCollaborationTrainedModelResponse', r.body);
}

export function listCollaborationTrainedModels(
  ctx: ServiceContext,
  input: T.ListCollaborationTrainedModelsRequest,
): T.ListCollaborationTrainedModelsResponse {
  const { items, nextToken } = listInCollaboration(ctx, TRAINED_MODEL_KIND, 'ListCollaborationTrainedModels', input);
  return toOutput('ListCollaborationTrainedModelsResponse', {
    collaborationTrainedModels: items.map((i) => i.body),
    nextToken,
  });
}

export function getCollaborationConfiguredModelAlgorithmAssociation(
  ctx: ServiceContext,
  input: T.GetCollaborationConfiguredModelAlgorithmAssociationRequest,
): T.GetCollaborationConfiguredModelAlgorithmAssociationResponse {
  const body = getInCollaboration(
    ctx,
    'configured-model-algorithm-association',
    'Configured model algorithm association',
    input.collaborationIdentifier,
    input.configuredModelAlgorithmAssociationArn,
  );
  return toOutput('GetCollaborationConfiguredModelAlgorithmAssociationResponse', body);
}

export function listCollaborationConfiguredModelAlgorithmAssociations(
  ctx: ServiceContext,
  input: T.ListCollaborationConfiguredModelAlgorithmAssociationsRequest,
): T.ListCollaborationConfiguredModelAlgorithmAssociationsResponse {
  const { items, nextToken } = listInCollaboration(
    ctx,
    'configured-model-algorithm-association',
    'ListCollaborationConfiguredModelAlgorithmAssociations',
    input,
  );
  return toOutput('ListCollaborationConfiguredModelAlgorithmAssociationsResponse', {
    collaborationConfiguredModelAlgorithmAssociations: items.map((i) => i.body),
    nextToken,
  });
}

export function getCollaborationMLInputChannel(
  ctx: ServiceContext,
  input: T.GetCollaborationMLInputChannelRequest,
): T.GetCollaborationMLInputChannelResponse {
  const body = getInCollaboration(ctx, 'ml-input-channel', 'ML input channel', input.collaborationIdentifier, input.mlInputChannelArn);
  return toOutput('GetCollaborationMLInputChannelResponse', body);
}

export function listCollaborationMLInputChannels(
  ctx: ServiceContext,
  input: T.ListCollaborationMLInputChannelsRequest,
): T.ListCollaborationMLInputChannelsResponse {
  const { items, nextToken } = listInCollaboration(ctx, 'ml-input-channel', 'ListCollaborationMLInputChannels', input);
  return toOutput('ListCollaborationMLInputChannelsResponse', {
    collaborationMLInputChannelsList: items.map((i) => i.body),
    nextToken,
  });
}
