import type * as T from '../generated/types.js';
import { toOutput } from '../shape-output.js';
import { assertMembership, nowIso, type ServiceContext, type Stored } from '../service-context.js';
import { ResourceNotFoundException } from '../generated/errors.js';

const KIND = 'ml-configuration';
type MLConfigurationRecord = Stored<T.GetMLConfigurationResponse>;
/** ML configurations have no ARN; the store keys them by membership. */
const keyOf = (membershipId: string) => `ml-configuration/${membershipId}`;

export function putMLConfiguration(ctx: ServiceContext, input: T.PutMLConfigurationRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const key = keyOf(input.membershipIdentifier);
  const now = nowIso(ctx);
  ctx.store.transaction(() => {
    const existing = ctx.store.get<MLConfigurationRecord>(KIND, key);
    const body: MLConfigurationRecord = {
      membershipIdentifier: input.membershipIdentifier,
      defaultOutputLocation: input.defaultOutputLocation,
      createTime: existing?.body.createTime ?? now,
      updateTime: now,
    };
    if (existing) ctx.store.update(KIND, key, '', () => ({ body }));
    else ctx.store.insert({ kind: KIND, arn: key, membershipId: input.membershipIdentifier, body });
  });
}

export function getMLConfiguration(ctx: ServiceContext, input: T.GetMLConfigurationRequest): T.GetMLConfigurationResponse {
  assertMembership(ctx, input.membershipIdentifier);
  const r = ctx.store.get<MLConfigurationRecord>(KIND, keyOf(input.membershipIdentifier));
  if (!r) throw new ResourceNotFoundException(`No ML configuration for membership ${input.membershipIdentifier}.`);
  return toOutput('GetMLConfigurationResponse', r.body);
}

export function deleteMLConfiguration(ctx: ServiceContext, input: T.DeleteMLConfigurationRequest): void {
  assertMembership(ctx, input.membershipIdentifier);
  const key = keyOf(input.membershipIdentifier);
  if (!ctx.store.get(KIND, key)) {
    throw new ResourceNotFoundException(`No ML configuration for membership ${input.membershipIdentifier}.`);
  }
  ctx.store.delete(KIND, key);
}
