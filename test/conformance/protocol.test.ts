import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/http/server.js';
import { ASSOCIATION_ARN, CREATE_TIME, fakeService, MEMBERSHIP, TRAINED_MODEL_ARN, UPDATE_TIME } from '../api/http/fake-service.js';
import { awsCli, awsEnv, boto3Probe, type ClientErrorSeen } from './drivers.js';

const NOT_IMPLEMENTED = 'cleanrooms-ml-local implements the custom-model training, inference and export operations of Clean Rooms ML only;';
/** Python's isoformat of a UTC datetime, as botocore hands timestamps back. */
const pythonIso = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => (ms === '000' ? '' : `.${ms}000`)) + '+00:00';

describe('boto3 and the AWS CLI read the endpoint (over a fake service)', () => {
  const service = fakeService();
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ service });
  });
  afterAll(() => server.close());

  it('boto3 parses every answer: timestamps, omitted optionals, pagination, modelled errors with their fields', async () => {
    const seen = await boto3Probe(server.url);
    expect(seen).toMatchObject({
      getStatus: 200,
      requestIdLength: 36,
      createTime: pythonIso(CREATE_TIME),
      createTimeIsAware: true,
      statusDetails: {},
      listNextToken: 'page-1',
      listFirstUpdateTime: pythonIso(UPDATE_TIME),
      pages: 2,
      createdArn: TRAINED_MODEL_ARN,
      deleteOutputStatus: 200,
    });
    expect(seen.keys).not.toContain('description');
    expect(seen.keys).not.toContain('metricsStatus');
    const errors = (k: string) => seen[k] as ClientErrorSeen;
    expect(errors('conflict')).toEqual({ code: 'ConflictException', status: 409, message: `Trained model ${TRAINED_MODEL_ARN} has already finished.` });
    expect(errors('notFound')).toMatchObject({ code: 'ResourceNotFoundException', status: 404 });
    expect(errors('accessDenied')).toEqual({ code: 'AccessDeniedException', status: 403, message: 'You may not read these tags.' });
    for (const [name, status] of [['ValidationException', 400], ['ThrottlingException', 429], ['InternalServiceException', 500]] as const) {
      expect(errors(name)).toEqual({ code: name, status, message: `you asked for ${name}` });
    }
    expect(errors('ServiceQuotaExceededException')).toEqual({
      code: 'ServiceQuotaExceededException',
      status: 402,
      message: 'Too many algorithms.',
      quotaName: 'algorithms per account',
      quotaValue: 10,
    });
    expect(errors('bug')).toMatchObject({ code: 'InternalServiceException', status: 500 });
    expect(errors('audience')).toEqual({ code: 'NotImplementedException', status: 501, message: `${NOT_IMPLEMENTED} ListAudienceModels is not implemented.` });
    expect(errors('lacking')).toMatchObject({ code: 'NotImplementedException', status: 501 });
  });

  it('hands the service exactly what boto3 meant: decoded ARNs, numbers, repeated query keys, UTF-8 bodies', () => {
    const input = (op: string) => service.calls.find((c) => c.operation === op)?.input;
    expect(input('GetTrainedModel')).toEqual({ membershipIdentifier: MEMBERSHIP, trainedModelArn: TRAINED_MODEL_ARN });
    expect(input('ListTrainedModels')).toEqual({ membershipIdentifier: MEMBERSHIP, maxResults: 5 });
    expect(input('UntagResource')).toEqual({ resourceArn: TRAINED_MODEL_ARN, tagKeys: ['team', 'a b/c'] });
    expect(input('TagResource')).toEqual({ resourceArn: TRAINED_MODEL_ARN, tags: { 'é': 'ü' } });
    expect(input('CreateTrainedModel')).toMatchObject({
      membershipIdentifier: MEMBERSHIP,
      name: 'm',
      configuredModelAlgorithmAssociationArn: ASSOCIATION_ARN,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      hyperparameters: { lr: '0.1' },
    });
  });

  it('the AWS CLI prints results, pages through lists, and exits 254 with AWS’s error line', async () => {
    const got = await awsCli(server.url, ['get-trained-model', '--membership-identifier', MEMBERSHIP, '--trained-model-arn', TRAINED_MODEL_ARN]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ trainedModelArn: TRAINED_MODEL_ARN, status: 'ACTIVE', createTime: pythonIso(CREATE_TIME) });

    const listed = await awsCli(server.url, ['list-trained-models', '--membership-identifier', MEMBERSHIP]);
    expect((JSON.parse(listed.stdout) as { trainedModels: unknown[] }).trainedModels).toHaveLength(2);

    const untag = await awsCli(server.url, ['untag-resource', '--resource-arn', TRAINED_MODEL_ARN, '--tag-keys', 'x', 'y']);
    expect(untag.code).toBe(0);
    expect(service.last()).toEqual({ operation: 'UntagResource', input: { resourceArn: TRAINED_MODEL_ARN, tagKeys: ['x', 'y'] } });

    const cancel = await awsCli(server.url, ['cancel-trained-model', '--membership-identifier', MEMBERSHIP, '--trained-model-arn', TRAINED_MODEL_ARN]);
    expect(cancel.code).toBe(254);
    expect(cancel.stderr.trim()).toBe(
      `An error occurred (ConflictException) when calling the CancelTrainedModel operation: Trained model ${TRAINED_MODEL_ARN} has already finished.`,
    );

    const audience = await awsCli(server.url, ['list-training-datasets']);
    expect(audience.code).toBe(254);
    expect(audience.stderr).toContain(`(NotImplementedException) when calling the ListTrainingDatasets operation: ${NOT_IMPLEMENTED}`);
  });

  it('with credentials configured, both clients sign their way in, and wrong keys are refused as AWS refuses them', async () => {
    const credentials = { accessKeyId: 'AKIDCRMLTEST', secretAccessKey: 's3cr3t/with+chars' };
    const signed = await startServer({ service, credentials });
    try {
      const probe = await boto3Probe(signed.url, awsEnv(credentials));
      expect(probe).toMatchObject({ getStatus: 200, pages: 2, deleteOutputStatus: 200 });

      const ok = await awsCli(signed.url, ['get-trained-model', '--membership-identifier', MEMBERSHIP, '--trained-model-arn', TRAINED_MODEL_ARN], awsEnv(credentials));
      expect(ok.code).toBe(0);
      const wrong = await awsCli(signed.url, ['list-trained-models', '--membership-identifier', MEMBERSHIP], awsEnv({ ...credentials, secretAccessKey: 'nope' }));
      expect(wrong.code).toBe(254);
      expect(wrong.stderr).toContain('An error occurred (InvalidSignatureException) when calling the ListTrainedModels operation: The request signature we calculated');
      const unknown = await awsCli(signed.url, ['list-trained-models', '--membership-identifier', MEMBERSHIP], awsEnv({ accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' }));
      expect(unknown.stderr).toContain('(UnrecognizedClientException) when calling the ListTrainedModels operation: The security token included in the request is invalid.');
      const anonymous = await fetch(`${signed.url}/memberships/${MEMBERSHIP}/trained-models`);
      expect({ status: anonymous.status, type: anonymous.headers.get('x-amzn-errortype') }).toEqual({ status: 403, type: 'MissingAuthenticationTokenException' });
    } finally {
      await signed.close();
    }
  });
});
