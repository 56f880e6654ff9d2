import {
  AccessDeniedException,
  ConflictException,
  errorClasses,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
} from '../../../src/api/generated/errors.js';
import type * as T from '../../../src/api/generated/types.js';
import type { RestJsonService } from '../../../src/api/http/server.js';

export const MEMBERSHIP = '00000000-0000-4000-8000-000000000001';
export const COLLABORATION = '00000000-0000-4000-8000-0000000000c1';
export const TRAINED_MODEL_ARN = `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/trained-model/0123456789abcdef`;
export const ASSOCIATION_ARN = `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/configured-model-algorithm-association/0123456789ab`;
export const CREATE_TIME = new Date('2024-03-04T05:06:07.089Z');
export const UPDATE_TIME = new Date('2024-03-04T05:16:07.000Z');

export interface Call {
  operation: string;
  input: Record<string, unknown>;
}

/**
 * A service of a few operations that records what the endpoint handed it and answers fixed shapes, with some
 * extra fields the output shape does not define (they must never reach the wire). Names ending in
 * `throw-<ErrorShape>` make createConfiguredModelAlgorithm throw that error; `throw-bug` throws a plain Error.
 */
export function fakeService(): RestJsonService & { calls: Call[]; last(): Call | undefined } {
  const calls: Call[] = [];
  const seen = (operation: string, input: object) => calls.push({ operation, input: input as Record<string, unknown> });
  const summary = (arn: string): T.TrainedModelSummary & { internalOwner: string } => ({
    createTime: CREATE_TIME,
    updateTime: UPDATE_TIME,
    trainedModelArn: arn,
    name: 'model',
    description: undefined,
    membershipIdentifier: MEMBERSHIP,
    collaborationIdentifier: COLLABORATION,
    status: 'ACTIVE',
    configuredModelAlgorithmAssociationArn: ASSOCIATION_ARN,
    internalOwner: 'pid 42',
  });
  return {
    calls,
    last: () => calls.at(-1),
    async getTrainedModel(input) {
      seen('GetTrainedModel', input);
      if (input.trainedModelArn.endsWith('/missing')) throw new ResourceNotFoundException(`Trained model ${input.trainedModelArn} not found.`);
      const { internalOwner: _, ...base } = summary(input.trainedModelArn);
      return {
        ...base,
        statusDetails: { statusCode: undefined, message: undefined },
        resourceConfig: { instanceType: 'ml.m5.large', instanceCount: 1, volumeSizeInGB: 10 },
        hyperparameters: { epochs: '3' },
        dataChannels: [{ mlInputChannelArn: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/x/ml-input-channel/y', channelName: 'train' }],
        metricsStatus: null as unknown as undefined,
      };
    },
    async listTrainedModels(input) {
      seen('ListTrainedModels', input);
      return { trainedModels: [summary(TRAINED_MODEL_ARN)], nextToken: input.nextToken === 'page-1' ? undefined : 'page-1' };
    },
    async createTrainedModel(input) {
      seen('CreateTrainedModel', input);
      return { trainedModelArn: TRAINED_MODEL_ARN };
    },
    async cancelTrainedModel(input) {
      seen('CancelTrainedModel', input);
      throw new ConflictException(`Trained model ${input.trainedModelArn} has already finished.`);
    },
    async deleteTrainedModelOutput(input) {
      seen('DeleteTrainedModelOutput', input);
    },
    async listTrainedModelVersions(input) {
      seen('ListTrainedModelVersions', input);
      return { trainedModels: [] };
    },
    async tagResource(input) {
      seen('TagResource', input);
      return {};
    },
    async untagResource(input) {
      seen('UntagResource', input);
      return {};
    },
    async listTagsForResource(input) {
      seen('ListTagsForResource', input);
      if (input.resourceArn.includes('forbidden')) throw new AccessDeniedException('You may not read these tags.');
      return { tags: { team: 'ml' } };
    },
    async listConfiguredModelAlgorithms(input) {
      seen('ListConfiguredModelAlgorithms', input);
      return { configuredModelAlgorithms: [] };
    },
    async createConfiguredModelAlgorithm(input) {
      seen('CreateConfiguredModelAlgorithm', input);
      const m = /throw-(\w+)$/.exec(input.name ?? '');
      if (m?.[1] === 'bug') throw new Error('a bug inside the service');
      if (m?.[1] === 'ServiceQuotaExceededException') {
        throw Object.assign(new ServiceQuotaExceededException('Too many algorithms.'), { quotaName: 'algorithms per account', quotaValue: 10 });
      }
      const ErrorClass = m ? errorClasses[m[1] as keyof typeof errorClasses] : undefined;
      if (ErrorClass) throw new ErrorClass(`you asked for ${m![1]}`);
      return { configuredModelAlgorithmArn: `arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-model-algorithm/${'a'.repeat(12)}` };
    },
  };
}
