import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolModel } from '../../../src/api/http/protocol-model.js';
import { startServer, type RestJsonService, type RunningServer } from '../../../src/api/http/server.js';

/**
 * The REST-JSON features Clean Rooms ML's training operations happen not to use (header members, header
 * prefixes, greedy labels, epoch-seconds timestamps, blobs, success codes other than 200), on a small model of
 * our own: the layer is driven by whatever model it is given, so they work the day a model needs them.
 */
const model: ProtocolModel = {
  signingName: 'example',
  shapes: {
    Str: { type: 'string' },
    Int: { type: 'integer' },
    Bool: { type: 'boolean' },
    Dbl: { type: 'double' },
    Epoch: { type: 'timestamp' },
    Iso: { type: 'timestamp', timestampFormat: 'iso8601' },
    Bytes: { type: 'blob' },
    StrList: { type: 'list', member: 'Str' },
    StrMap: { type: 'map', key: 'Str', value: 'Str' },
    PutObjectInput: {
      type: 'structure',
      required: ['bucket', 'key'],
      members: {
        bucket: { shape: 'Str', location: 'uri', locationName: 'bucket' },
        key: { shape: 'Str', location: 'uri', locationName: 'key' },
        version: { shape: 'Int', location: 'header', locationName: 'x-version' },
        overwrite: { shape: 'Bool', location: 'header', locationName: 'x-overwrite' },
        names: { shape: 'StrList', location: 'header', locationName: 'x-names' },
        meta: { shape: 'StrMap', location: 'headers', locationName: 'x-meta-' },
        since: { shape: 'Iso', location: 'querystring', locationName: 'since' },
        filters: { shape: 'StrMap', location: 'querystring' },
        data: { shape: 'Bytes' },
      },
    },
    PutObjectOutput: {
      type: 'structure',
      required: [],
      members: {
        etag: { shape: 'Str', location: 'header', locationName: 'ETag' },
        modified: { shape: 'Epoch', location: 'header', locationName: 'Last-Modified' },
        meta: { shape: 'StrMap', location: 'headers', locationName: 'x-meta-' },
        when: { shape: 'Epoch' },
        at: { shape: 'Iso' },
        data: { shape: 'Bytes' },
        score: { shape: 'Dbl' },
      },
    },
    NameInput: {
      type: 'structure',
      required: ['bucket'],
      members: { bucket: { shape: 'Str', location: 'uri', locationName: 'bucket' }, thing: { shape: 'Str', location: 'uri', locationName: 'thing' } },
    },
  },
  operations: {
    // Declared before the literal route on purpose: a literal segment must still win.
    GetThing: { name: 'GetThing', method: 'GET', requestUri: '/buckets/{bucket}/{thing}', successCode: 200, input: 'NameInput', errors: [] },
    GetPolicy: { name: 'GetPolicy', method: 'GET', requestUri: '/buckets/{bucket}/policy', successCode: 200, input: 'NameInput', errors: [] },
    PutObject: { name: 'PutObject', method: 'PUT', requestUri: '/buckets/{bucket}/objects/{key+}', successCode: 201, input: 'PutObjectInput', output: 'PutObjectOutput', errors: [] },
    DeleteObject: { name: 'DeleteObject', method: 'DELETE', requestUri: '/buckets/{bucket}/objects/{key+}', successCode: 204, input: 'PutObjectInput', output: 'PutObjectOutput', errors: [] },
  },
  unimplemented: {},
};

describe('REST-JSON features driven by the model', () => {
  const calls: { op: string; input: Record<string, unknown> }[] = [];
  const modified = new Date('2024-01-02T03:04:05Z');
  const fake = {
    async getThing(input: Record<string, unknown>) {
      calls.push({ op: 'GetThing', input });
    },
    async getPolicy(input: Record<string, unknown>) {
      calls.push({ op: 'GetPolicy', input });
    },
    async putObject(input: Record<string, unknown>) {
      calls.push({ op: 'PutObject', input });
      return { etag: '"abc"', modified, meta: { owner: 'me' }, when: new Date('2024-01-02T03:04:05.500Z'), at: modified, data: Buffer.from('hi'), score: Number.NaN };
    },
    async deleteObject(input: Record<string, unknown>) {
      calls.push({ op: 'DeleteObject', input });
      return { etag: '"gone"', when: modified };
    },
  };
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ service: fake as unknown as RestJsonService, model });
  });
  afterAll(() => server.close());

  it('prefers a literal segment over a label, whatever the declaration order', async () => {
    await fetch(`${server.url}/buckets/b/policy`);
    await fetch(`${server.url}/buckets/b/other`);
    expect(calls.slice(-2)).toEqual([
      { op: 'GetPolicy', input: { bucket: 'b' } },
      { op: 'GetThing', input: { bucket: 'b', thing: 'other' } },
    ]);
  });

  it('reads a greedy label across slashes, header members, a header prefix map, query timestamps and maps, and a blob body', async () => {
    const res = await fetch(`${server.url}/buckets/b/objects/a/deep%20er/key.txt?since=2024-01-01T00:00:00Z&color=red&size=9`, {
      method: 'PUT',
      headers: { 'x-version': '7', 'x-overwrite': 'true', 'x-names': 'a, b', 'x-meta-owner': 'me', 'X-Meta-Team': 'ml', 'content-type': 'application/json' },
      body: JSON.stringify({ data: 'aGk=' }),
    });
    expect(res.status).toBe(201);
    expect(calls.at(-1)).toEqual({
      op: 'PutObject',
      input: {
        bucket: 'b',
        key: 'a/deep er/key.txt',
        version: 7,
        overwrite: true,
        names: ['a', 'b'],
        meta: { owner: 'me', team: 'ml' },
        since: new Date('2024-01-01T00:00:00Z'),
        filters: { color: 'red', size: '9' },
        data: 'aGk=',
      },
    });
    expect(res.headers.get('etag')).toBe('"abc"');
    expect(res.headers.get('last-modified')).toBe('Tue, 02 Jan 2024 03:04:05 GMT');
    expect(res.headers.get('x-meta-owner')).toBe('me');
    expect(await res.json()).toEqual({ when: 1704164645.5, at: '2024-01-02T03:04:05.000Z', data: 'aGk=', score: 'NaN' });
  });

  it("keeps a query or header-prefix map key '__proto__' as an entry (for validation to refuse by name), never as the map's prototype", async () => {
    await fetch(`${server.url}/buckets/b/objects/k?__proto__=x&color=red`, { method: 'PUT', headers: { 'x-meta-__proto__': 'y' } });
    const input = calls.at(-1)!.input as { filters: Record<string, string>; meta: Record<string, string> };
    expect(Object.getPrototypeOf(input.filters)).toBe(Object.prototype);
    expect(Object.entries(input.filters)).toEqual([['__proto__', 'x'], ['color', 'red']]);
    expect(Object.entries(input.meta)).toEqual([['__proto__', 'y']]);
  });

  it('leaves a malformed header or query value as sent, for validation to name', async () => {
    await fetch(`${server.url}/buckets/b/objects/k?since=yesterday`, { method: 'PUT', headers: { 'x-version': 'seven', 'x-overwrite': 'yes' } });
    expect(calls.at(-1)?.input).toMatchObject({ version: 'seven', overwrite: 'yes', since: 'yesterday' });
  });

  it('answers the success code of the model, with no body for 204', async () => {
    const res = await fetch(`${server.url}/buckets/b/objects/k`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.headers.get('etag')).toBe('"gone"');
    expect(await res.text()).toBe('');
  });
});
