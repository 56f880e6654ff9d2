import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { ResourceKind, Store } from './store.js';
import type { TrainedModelRecords } from './trained-model-records.js';
import { page } from './pagination.js';
import type { ArnContext } from './arns.js';
import { AccessDeniedException, ResourceNotFoundException, ServiceQuotaExceededException } from './generated/errors.js';
import { validationException } from './validation.js';
import type { TrainingCoordinator } from './training-coordinator.js';
import type { InferenceJobCoordinator } from './inference-job-coordinator.js';

/** What every operation gets: injected once by the service object. */
export interface ServiceContext {
  store: Store;
  settings: Settings;
  logger: Logger;
  training: TrainingCoordinator;
  /** Inference jobs: started, cancelled and reconciled here. */
  inference: InferenceJobCoordinator;
  /** The trained-model records: every read and write of one goes through here. */
  trainedModels: TrainedModelRecords;
  clock: () => Date;
  /** Work that goes on after an operation answers (a channel's query): tracked so close() can wait for it. */
  background: (work: Promise<unknown>) => void;
}

export type { Stored } from './store.js';

export function arnContext(ctx: ServiceContext): ArnContext {
  return { region: ctx.settings.region, accountId: ctx.settings.accountId };
}

export function nowIso(ctx: ServiceContext): string {
  return ctx.clock().toISOString();
}

/** A new record's two timestamps: created and last updated now. */
export function createdNow(ctx: ServiceContext): { createTime: string; updateTime: string } {
  const now = nowIso(ctx);
  return { createTime: now, updateTime: now };
}

/** Any well-formed membership id works unless a setting restricts them. */
export function assertMembership(ctx: ServiceContext, membershipId: string): void {
  const allowed = ctx.settings.allowedMembershipIds;
  if (allowed.length > 0 && !allowed.includes(membershipId)) {
    throw new AccessDeniedException(`Membership ${membershipId} is not one this endpoint serves.`);
  }
}

export function assertCollaboration(ctx: ServiceContext, collaborationId: string): void {
  if (collaborationId !== ctx.settings.collaborationId) {
    throw new ResourceNotFoundException(`Collaboration ${collaborationId} not found.`);
  }
}

/**
 * The quotas (contract §6) over what is `running` (pending or in progress): per membership, then per account;
 * `what` names it in the message ("trained models", "inference jobs").
 */
export function assertQuotas(ctx: ServiceContext, running: readonly { membershipId: string | null }[], membershipId: string, what: string): void {
  const inMembership = running.filter((r) => r.membershipId === membershipId).length;
  if (inMembership >= ctx.settings.quotaPerMembership) {
    throw new ServiceQuotaExceededException(
      `Membership ${membershipId} already has ${inMembership} ${what} pending or in progress; the quota is ${ctx.settings.quotaPerMembership}.`,
    );
  }
  if (running.length >= ctx.settings.quotaPerAccount) {
    throw new ServiceQuotaExceededException(`Account ${ctx.settings.accountId} already has ${running.length} ${what} pending or in progress; the quota is ${ctx.settings.quotaPerAccount}.`);
  }
}

export function notFound(what: string, arn: string): ResourceNotFoundException {
  return new ResourceNotFoundException(`${what} ${arn} not found.`);
}

/** Tag keys starting with `aws:` are reserved for AWS (as on every AWS service). */
export function assertUserTags(tags: Record<string, string> | undefined, member = 'tags'): void {
  for (const key of Object.keys(tags ?? {})) {
    if (key.toLowerCase().startsWith('aws:')) {
      throw validationException([{ path: member, value: key, constraint: "Tag keys starting with 'aws:' are reserved for system use." }]);
    }
  }
}

/** An optional map with no entries is left out of a response, like any absent optional. */
export function nonEmpty<V>(map: Record<string, V>): Record<string, V> | undefined {
  return Object.keys(map).length > 0 ? map : undefined;
}

/** One page of a membership's records of a kind, newest first, for a List operation (token bound to the list). */
export function pageOfMembership<B>(
  ctx: ServiceContext,
  kind: ResourceKind,
  operation: string,
  input: { membershipIdentifier: string; maxResults?: number; nextToken?: string },
): { items: B[]; nextToken?: string } {
  assertMembership(ctx, input.membershipIdentifier);
  const { items, nextToken } = page(`${operation}/${input.membershipIdentifier}`, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    ctx.store.list<B>({ kind, membershipId: input.membershipIdentifier, beforeSeq, limit }),
  );
  return { items: items.map((i) => i.body), nextToken };
}
