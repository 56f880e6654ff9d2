import type * as T from '../generated/types.js';
import type { ResourceKind } from '../store.js';
import { ValidationException } from '../generated/errors.js';
import { assertUserTags, notFound, type ServiceContext } from '../service-context.js';

const TAGGABLE: Record<string, ResourceKind> = {
  'configured-model-algorithm': 'configured-model-algorithm',
  'configured-model-algorithm-association': 'configured-model-algorithm-association',
  'ml-input-channel': 'ml-input-channel',
  'trained-model': 'trained-model',
};
const MAX_TAGS = 200;

function assertTaggable(ctx: ServiceContext, arn: string): void {
  const type = /:(?:membership\/[^/]+\/)?([a-z-]+)\/[^/]+$/.exec(arn)?.[1];
  const kind = type ? TAGGABLE[type] : undefined;
  if (!kind || !ctx.store.get(kind, arn)) throw notFound('Resource', arn);
}

export function tagResource(ctx: ServiceContext, input: T.TagResourceRequest): T.TagResourceResponse {
  assertTaggable(ctx, input.resourceArn);
  assertUserTags(input.tags);
  const merged = { ...ctx.store.getTags(input.resourceArn), ...input.tags };
  if (Object.keys(merged).length > MAX_TAGS) {
    throw new ValidationException(`A resource can have at most ${MAX_TAGS} tags; this request would give it ${Object.keys(merged).length}.`);
  }
  ctx.store.setTags(input.resourceArn, input.tags);
  return {};
}

export function untagResource(ctx: ServiceContext, input: T.UntagResourceRequest): T.UntagResourceResponse {
  assertTaggable(ctx, input.resourceArn);
  const reserved = input.tagKeys.find((k) => k.toLowerCase().startsWith('aws:'));
  if (reserved) assertUserTags({ [reserved]: '' }, 'tagKeys');
  ctx.store.removeTags(input.resourceArn, input.tagKeys);
  return {};
}

export function listTagsForResource(ctx: ServiceContext, input: T.ListTagsForResourceRequest): T.ListTagsForResourceResponse {
  assertTaggable(ctx, input.resourceArn);
  return { tags: ctx.store.getTags(input.resourceArn) };
}
