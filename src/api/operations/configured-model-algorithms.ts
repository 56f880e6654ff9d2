import type * as T from '../generated/types.js';
import { ConflictException } from '../generated/errors.js';
import { arns, newResourceId } from '../arns.js';
import { page } from '../pagination.js';
import { toOutput } from '../shape-output.js';
import { arnContext, assertUserTags, nonEmpty, notFound, createdNow, type ServiceContext, type Stored } from '../service-context.js';
import { assertMetricDefinitions } from '../metric-definitions.js';
import { assertImageUri } from '../image-uri.js';
import { assertContainerCommand } from '../training-input-rules.js';

const KIND = 'configured-model-algorithm';
export type ConfiguredModelAlgorithmRecord = Stored<T.GetConfiguredModelAlgorithmResponse>;

export function createConfiguredModelAlgorithm(
  ctx: ServiceContext,
  input: T.CreateConfiguredModelAlgorithmRequest,
): T.CreateConfiguredModelAlgorithmResponse {
  assertUserTags(input.tags);
  if (input.trainingContainerConfig) {
    assertImageUri(input.trainingContainerConfig.imageUri, 'trainingContainerConfig.imageUri');
    assertMetricDefinitions(input.trainingContainerConfig.metricDefinitions ?? []);
    assertContainerCommand(input.trainingContainerConfig, 'trainingContainerConfig');
  }
  if (input.inferenceContainerConfig) assertImageUri(input.inferenceContainerConfig.imageUri, 'inferenceContainerConfig.imageUri');
  const arn = arns.configuredModelAlgorithm(arnContext(ctx), newResourceId());
  const body: ConfiguredModelAlgorithmRecord = {
    ...createdNow(ctx),
    configuredModelAlgorithmArn: arn,
    name: input.name,
    description: input.description,
    roleArn: input.roleArn,
    trainingContainerConfig: input.trainingContainerConfig,
    inferenceContainerConfig: input.inferenceContainerConfig,
    kmsKeyArn: input.kmsKeyArn,
  };
  ctx.store.insertWithTags({ kind: KIND, arn, body }, input.tags);
  return { configuredModelAlgorithmArn: arn };
}

export function getConfiguredModelAlgorithmRecord(ctx: ServiceContext, arn: string): ConfiguredModelAlgorithmRecord {
  const r = ctx.store.get<ConfiguredModelAlgorithmRecord>(KIND, arn);
  if (!r) throw notFound('Configured model algorithm', arn);
  return r.body;
}

export function getConfiguredModelAlgorithm(
  ctx: ServiceContext,
  input: T.GetConfiguredModelAlgorithmRequest,
): T.GetConfiguredModelAlgorithmResponse {
  const body = getConfiguredModelAlgorithmRecord(ctx, input.configuredModelAlgorithmArn);
  return toOutput('GetConfiguredModelAlgorithmResponse', { ...body, tags: nonEmpty(ctx.store.getTags(body.configuredModelAlgorithmArn)) });
}

export function listConfiguredModelAlgorithms(
  ctx: ServiceContext,
  input: T.ListConfiguredModelAlgorithmsRequest,
): T.ListConfiguredModelAlgorithmsResponse {
  const { items, nextToken } = page('ListConfiguredModelAlgorithms', input.maxResults, input.nextToken, (beforeSeq, limit) =>
    ctx.store.list<ConfiguredModelAlgorithmRecord>({ kind: KIND, beforeSeq, limit }),
  );
  return toOutput('ListConfiguredModelAlgorithmsResponse', {
    configuredModelAlgorithms: items.map((i) => i.body),
    nextToken,
  });
}

export function deleteConfiguredModelAlgorithm(ctx: ServiceContext, input: T.DeleteConfiguredModelAlgorithmRequest): void {
  const arn = input.configuredModelAlgorithmArn;
  getConfiguredModelAlgorithmRecord(ctx, arn);
  const user = ctx.store.findReferencing('configured-model-algorithm-association', 'configuredModelAlgorithmArn', arn);
  if (user) {
    throw new ConflictException(
      `Configured model algorithm ${arn} is used by configured model algorithm association ${user.arn}; delete the association first.`,
    );
  }
  ctx.store.delete(KIND, arn);
}
