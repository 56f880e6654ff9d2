import { randomBytes, randomUUID } from 'node:crypto';

/** ARNs and ids of local resources (contract §1): ids are lowercase hex, 32 characters. */

export interface ArnContext {
  region: string;
  accountId: string;
}

export function newResourceId(): string {
  return randomBytes(16).toString('hex');
}

export function newVersionId(): string {
  return randomUUID();
}

const base = (c: ArnContext) => `arn:aws:cleanrooms-ml:${c.region}:${c.accountId}`;

export const arns = {
  configuredModelAlgorithm: (c: ArnContext, id: string) => `${base(c)}:configured-model-algorithm/${id}`,
  configuredModelAlgorithmAssociation: (c: ArnContext, membershipId: string, id: string) =>
    `${base(c)}:membership/${membershipId}/configured-model-algorithm-association/${id}`,
  mlInputChannel: (c: ArnContext, membershipId: string, id: string) =>
    `${base(c)}:membership/${membershipId}/ml-input-channel/${id}`,
  trainedModel: (c: ArnContext, membershipId: string, id: string) =>
    `${base(c)}:membership/${membershipId}/trained-model/${id}`,
  trainedModelInferenceJob: (c: ArnContext, membershipId: string, id: string) =>
    `${base(c)}:membership/${membershipId}/trained-model-inference-job/${id}`,
};

/** The membership id inside a membership-scoped ARN, or undefined. */
export function membershipOfArn(arn: string): string | undefined {
  return /:membership\/([0-9a-f-]{36})\//.exec(arn)?.[1];
}

/** The last path segment of an ARN: the resource id. */
export function resourceIdOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
