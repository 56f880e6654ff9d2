import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, otherOperations, shapes } from '../../../src/api/generated/model.js';
import { startServer, type RunningServer } from '../../../src/api/http/server.js';
import { ASSOCIATION_ARN, COLLABORATION, CREATE_TIME, fakeService, MEMBERSHIP, TRAINED_MODEL_ARN, UPDATE_TIME } from './fake-service.js';

const enc = encodeURIComponent;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

/** A raw HTTP request: the path is sent exactly as given (fetch would normalise it). */
function send(port: number, method: string, path: string, body = '', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          /* not JSON: the assertions on text say so */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function expectAwsError(a: Answer, status: number, name: string) {
  expect({ status: a.status, type: a.headers['x-amzn-errortype'], __type: a.json.__type }).toEqual({ status, type: name, __type: name });
  expect(a.headers['content-type']).toBe('application/json');
  expect(typeof a.json.message).toBe('string');
  expect(a.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
}

describe('the REST-JSON endpoint over a fake service', () => {
  const service = fakeService();
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ service });
  });
  afterAll(() => server.close());

  describe('routing', () => {
    it('routes one path to four operations by method, and percent-decodes an ARN label', async () => {
      const path = `/memberships/${MEMBERSHIP}/trained-models/${enc(TRAINED_MODEL_ARN)}`;
      expect(path).toContain('arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A123456789012%3Amembership%2F');
      for (const [method, operation] of [
        ['GET', 'GetTrainedModel'],
        ['PATCH', 'CancelTrainedModel'],
        ['DELETE', 'DeleteTrainedModelOutput'],
      ] as const) {
        await send(server.port, method, path);
        expect(service.last()).toEqual({ operation, input: { membershipIdentifier: MEMBERSHIP, trainedModelArn: TRAINED_MODEL_ARN } });
      }
      await send(server.port, 'GET', `${path}/versions`);
      expect(service.last()?.operation).toBe('ListTrainedModelVersions');
    });

    it('routes every training, inference and export operation of the model and no other', () => {
      expect(Object.keys(operations)).toHaveLength(37);
      expect(Object.keys(operations)).toContain('StartTrainedModelInferenceJob');
      expect(Object.keys(otherOperations)).toContain('CreateAudienceModel');
    });

    it('answers an unknown path 404 UnknownOperationException and a wrong method 405', async () => {
      expectAwsError(await send(server.port, 'GET', '/no-such-thing'), 404, 'UnknownOperationException');
      expectAwsError(await send(server.port, 'GET', '/'), 404, 'UnknownOperationException');
      const wrong = await send(server.port, 'PUT', `/memberships/${MEMBERSHIP}/trained-models`);
      expectAwsError(wrong, 405, 'MethodNotAllowedException');
      expect(wrong.json.message).toContain('GET, POST');
    });

    it('says clearly that the audience operations are not implemented, and so for an operation the service lacks', async () => {
      const audience = await send(server.port, 'POST', '/audience-model', '{}', { 'content-type': 'application/json' });
      expectAwsError(audience, 501, 'NotImplementedException');
      expect(audience.json.message).toBe(
        'cleanrooms-ml-local implements the custom-model training, inference and export operations of Clean Rooms ML only; CreateAudienceModel is not implemented.',
      );
      const generation = await send(server.port, 'GET', '/audience-generation-job');
      expect(generation.json.message).toContain('ListAudienceGenerationJobs is not implemented');
      const lacking = await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/ml-input-channels`);
      expectAwsError(lacking, 501, 'NotImplementedException');
      expect(lacking.json.message).toContain('ListMLInputChannels');
    });

    it('refuses a label that is not valid percent-encoding with a 400', async () => {
      expectAwsError(await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/trained-models/arn%E0%A4%A`), 400, 'SerializationException');
    });
  });

  describe('parsing', () => {
    it('reads querystring members by their location names, numbers as numbers and anything else as sent', async () => {
      await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/trained-models?maxResults=5&nextToken=${enc('a+b/c=')}&unknown=1`);
      expect(service.last()?.input).toEqual({ membershipIdentifier: MEMBERSHIP, maxResults: 5, nextToken: 'a+b/c=' });
      await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/trained-models?maxResults=five`);
      expect(service.last()?.input).toEqual({ membershipIdentifier: MEMBERSHIP, maxResults: 'five' });
      await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/trained-models?maxResults=1.5`);
      expect(service.last()?.input.maxResults).toBe('1.5');
    });

    it('reads a list querystring member from the key repeated', async () => {
      await send(server.port, 'DELETE', `/tags/${enc(TRAINED_MODEL_ARN)}?tagKeys=team&tagKeys=${enc('a b')}`);
      expect(service.last()).toEqual({ operation: 'UntagResource', input: { resourceArn: TRAINED_MODEL_ARN, tagKeys: ['team', 'a b'] } });
    });

    it('merges the JSON body with the path, keeps only the model members, and reads null as absent', async () => {
      const body = {
        name: 'm',
        configuredModelAlgorithmAssociationArn: ASSOCIATION_ARN,
        resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
        dataChannels: [{ mlInputChannelArn: 'x', channelName: 'train' }],
        description: null,
        notInTheModel: 1,
        membershipIdentifier: 'the-body-cannot-override-the-path',
      };
      const a = await send(server.port, 'POST', `/memberships/${MEMBERSHIP}/trained-models`, JSON.stringify(body), { 'content-type': 'application/json' });
      expect(a.status).toBe(200);
      expect(service.last()?.input).toEqual({
        membershipIdentifier: MEMBERSHIP,
        name: 'm',
        configuredModelAlgorithmAssociationArn: ASSOCIATION_ARN,
        resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
        dataChannels: [{ mlInputChannelArn: 'x', channelName: 'train' }],
      });
    });

    it('accepts a body with no Content-Type and with a JSON one carrying a charset', async () => {
      for (const headers of [{}, { 'content-type': 'application/json; charset=utf-8' }, { 'content-type': 'application/x-amz-json-1.1' }] as Record<string, string>[]) {
        const a = await send(server.port, 'POST', '/tags/x', '{"tags":{"a":"b"}}', headers);
        expect(a.status, JSON.stringify(headers)).toBe(200);
        expect(service.last()?.input).toEqual({ resourceArn: 'x', tags: { a: 'b' } });
      }
    });

    it('answers malformed JSON 400 SerializationException, as Smithy’s restJson1 rules say', async () => {
      for (const body of ['{', '{"tags": }', '[1]', '"text"', '12']) {
        const a = await send(server.port, 'POST', '/tags/x', body, { 'content-type': 'application/json' });
        expectAwsError(a, 400, 'SerializationException');
      }
    });

    it('answers a body that is not JSON by its Content-Type with 415', async () => {
      expectAwsError(await send(server.port, 'POST', '/tags/x', 'tags=a', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UnsupportedMediaTypeException');
    });

    it('refuses a body over the limit with 413, declared or streamed, and keeps serving', async () => {
      const small = await startServer({ service, maxBodyBytes: 1000 });
      try {
        expectAwsError(await send(small.port, 'POST', '/tags/x', JSON.stringify({ tags: { a: 'b'.repeat(2000) } })), 413, 'RequestEntityTooLargeException');
        const streamed = await new Promise<number>((resolve) => {
          const req = request({ host: '127.0.0.1', port: small.port, method: 'POST', path: '/tags/x', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', () => resolve(-1));
          req.write('x'.repeat(800));
          req.end('x'.repeat(800));
        });
        expect(streamed).toBe(413);
        expect((await send(small.port, 'POST', '/tags/x', '{"tags":{"a":"b"}}')).status).toBe(200);
      } finally {
        await small.close();
      }
    });
  });

  describe('serializing', () => {
    it('renders the output shape: ISO-8601 timestamps, absent optionals left out (never null), no fields outside the shape', async () => {
      const a = await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/trained-models/${enc(TRAINED_MODEL_ARN)}`);
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toBe('application/json');
      expect(a.json).toEqual({
        membershipIdentifier: MEMBERSHIP,
        collaborationIdentifier: COLLABORATION,
        trainedModelArn: TRAINED_MODEL_ARN,
        name: 'model',
        status: 'ACTIVE',
        statusDetails: {},
        configuredModelAlgorithmAssociationArn: ASSOCIATION_ARN,
        resourceConfig: { instanceType: 'ml.m5.large', instanceCount: 1, volumeSizeInGB: 10 },
        hyperparameters: { epochs: '3' },
        dataChannels: [{ mlInputChannelArn: 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/x/ml-input-channel/y', channelName: 'train' }],
        createTime: CREATE_TIME.toISOString(),
        updateTime: UPDATE_TIME.toISOString(),
      });
      expect(a.text).not.toContain('null');
      expect(shapes.SyntheticTimestamp_date_time).toEqual({ type: 'timestamp', timestampFormat: 'iso8601' });
    });

    it('leaves out fields of list items that the shape does not define', async () => {
      const a = await send(server.port, 'GET', `/memberships/${MEMBERSHIP}/trained-models`);
      expect(a.json.nextToken).toBe('page-1');
      expect((a.json.trainedModels as Record<string, unknown>[])[0]).not.toHaveProperty('internalOwner');
      expect((a.json.trainedModels as Record<string, unknown>[])[0]).not.toHaveProperty('description');
    });

    it('answers an operation with no output 200 and an empty JSON object', async () => {
      const a = await send(server.port, 'DELETE', `/memberships/${MEMBERSHIP}/trained-models/${enc(TRAINED_MODEL_ARN)}`);
      expect({ status: a.status, text: a.text }).toEqual({ status: 200, text: '{}' });
    });
  });

  describe('errors', () => {
    it.each([
      ['ValidationException', 400],
      ['AccessDeniedException', 403],
      ['ResourceNotFoundException', 404],
      ['ConflictException', 409],
      ['ThrottlingException', 429],
      ['InternalServiceException', 500],
    ])('maps %s to %i with x-amzn-ErrorType and {__type, message}', async (name, status) => {
      const a = await send(server.port, 'POST', '/configured-model-algorithms', JSON.stringify({ name: `throw-${name}` }), { 'content-type': 'application/json' });
      expectAwsError(a, status, name);
      expect(a.json).toEqual({ __type: name, message: `you asked for ${name}` });
    });

    it('sends the members an error shape defines beyond its message', async () => {
      const a = await send(server.port, 'POST', '/configured-model-algorithms', JSON.stringify({ name: 'throw-ServiceQuotaExceededException' }));
      expectAwsError(a, 402, 'ServiceQuotaExceededException');
      expect(a.json).toEqual({ __type: 'ServiceQuotaExceededException', message: 'Too many algorithms.', quotaName: 'algorithms per account', quotaValue: 10 });
    });

    it('turns an unexpected exception into 500 InternalServiceException naming the request id, and stays up', async () => {
      const a = await send(server.port, 'POST', '/configured-model-algorithms', JSON.stringify({ name: 'throw-bug' }));
      expectAwsError(a, 500, 'InternalServiceException');
      expect(a.json.message).toContain(String(a.headers['x-amzn-requestid']));
      expect(a.text).not.toContain('a bug inside the service');
      expect((await send(server.port, 'GET', '/configured-model-algorithms')).status).toBe(200);
    });
  });
});
