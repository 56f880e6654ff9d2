import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, shapes } from '../../../src/api/generated/model.js';
import { startServer, type RunningServer } from '../../../src/api/http/server.js';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDataFolder, tempService } from '../../helpers/fixtures.js';

/** A small deterministic generator, so a failing case can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T,>(xs: readonly T[]) => xs[int(xs.length)]!;
  const junk = (n: number) => Array.from({ length: int(n) }, () => String.fromCharCode(int(0x250))).join('');
  return { next, int, pick, junk };
}

const UUID = '00000000-0000-4000-8000-000000000001';
const ARN = encodeURIComponent(`arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/trained-model/0123456789ab`);
const SEGMENTS = [UUID, ARN, 'not-a-uuid', '%E0%A4%A', '%zz', '%00', '..', '.', '', 'a'.repeat(3000), 'arn%3A', '%2F%2F', 'memberships', 'trained-models', 'versions', '~!$&\'()*+,;=:@'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE'];
const CONTENT_TYPES = [undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '', 'multipart/form-data; boundary=x'];
const BODY_MEMBERS = [...new Set(Object.values(shapes).flatMap((s) => (s.type === 'structure' ? Object.keys(s.members) : [])))];
const ODD_VALUES: unknown[] = [null, 5, -1, Number.MAX_VALUE, 2 ** 53 + 2, 'x'.repeat(5000), [], {}, [null], { a: [{}] }, true, '', '\u0000', '💥', { __proto__: { polluted: true } }, ['a', 1, null]];

/** A path from the model's own templates with labels filled badly, or a path made of odd segments. */
function path(r: ReturnType<typeof rng>): string {
  const templates = Object.values(operations).map((o) => o.requestUri);
  const base = r.next() < 0.7 ? r.pick(templates).replace(/\{[^}]+\}/g, () => r.pick(SEGMENTS)) : `/${Array.from({ length: r.int(5) }, () => r.pick(SEGMENTS)).join('/')}`;
  const query = Array.from({ length: r.int(4) }, () => `${r.pick(['maxResults', 'nextToken', 'tagKeys', 'x', '%zz', ''])}=${r.pick(['1', '-1', 'abc', '%', '1e3', '', encodeURIComponent(r.junk(20))])}`);
  return query.length ? `${base}?${query.join('&')}` : base;
}

/** A real association (made in beforeAll), so that channel bodies reach the checks of their data source. */
let ASSOCIATION = `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/configured-model-algorithm-association/0123456789ab`;
const CHANNEL = `arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${UUID}/ml-input-channel/0123456789ab`;
const ROLE = 'arn:aws:iam::123456789012:role/r';
const LOCAL_PATHS: unknown[] = ['/', '/proc', '/proc/self/root', '/sys', '/dev', '/run', '/var/run', '/var/run/docker.sock', '', ' ', '..', '../..', '/tmp/../etc', '/etc', 'relative', '\u0000', 5, null, ['/']];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'MODE=x', 'SM_HPS', '', '\u0000', 'a'.repeat(300), 'aws:x'];
const HOSTILE_STRINGS = ['\u0000', 'a\u0000b', 'x'.repeat(60_000), '\ud800', '💥'.repeat(1000), '$x{}', '../../etc/passwd'];

/** Bodies shaped like real calls with one hostile part each: where a crash would hide if validation missed it. */
function hostileBody(r: ReturnType<typeof rng>): { method: string; path: string; body: string | Buffer } {
  const map = () => `{${Array.from({ length: 1 + r.int(3) }, () => `${JSON.stringify(r.pick(HOSTILE_KEYS))}:${JSON.stringify(r.pick([...HOSTILE_STRINGS, 'v']))}`).join(',')}}`;
  switch (r.int(6)) {
    case 0:
      return {
        method: 'POST',
        path: `/memberships/${UUID}/ml-input-channels`,
        body: JSON.stringify({
          name: 'c',
          retentionInDays: 1,
          configuredModelAlgorithmAssociations: [ASSOCIATION],
          inputChannel: { roleArn: ROLE, dataSource: { localDataSource: r.next() < 0.9 ? { path: r.pick(LOCAL_PATHS), resultFormat: r.pick([undefined, 'CSV', 'XML']) } : r.pick(LOCAL_PATHS) } },
        }),
      };
    case 1: {
      const member = r.pick(['hyperparameters', 'environment', 'tags']);
      const channelName = r.pick(['train', '.', '..', '', 'a/b', '\u0000']);
      return {
        method: 'POST',
        path: `/memberships/${UUID}/trained-models`,
        body: `{"name":"m","configuredModelAlgorithmAssociationArn":"${ASSOCIATION}","resourceConfig":{"instanceType":"ml.m5.large","volumeSizeInGB":1},"dataChannels":[{"mlInputChannelArn":"${CHANNEL}","channelName":${JSON.stringify(channelName)}}],"${member}":${map()}}`,
      };
    }
    case 2:
      return { method: 'POST', path: '/configured-model-algorithms', body: `{"name":${JSON.stringify(r.pick(HOSTILE_STRINGS))},"roleArn":"${ROLE}","trainingContainerConfig":{"imageUri":"x"},"tags":${map()}}` };
    case 3: {
      // Nesting that is complete (parses) and deep, inside a member the service reads.
      const depth = r.pick([63, 65, 200, 6000, 20_000]);
      const open = r.next() < 0.5 ? '['.repeat(depth) : '{"a":'.repeat(depth);
      const close = open.startsWith('[') ? ']'.repeat(depth) : '}'.repeat(depth);
      return { method: 'POST', path: `/tags/${ARN}`, body: `{"tags":${open}${r.next() < 0.5 ? '' : '1'}${close}}` };
    }
    case 4: {
      // Bytes that are not UTF-8 inside an otherwise good body.
      const bad = Buffer.from(r.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe9], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]));
      return { method: 'POST', path: '/configured-model-algorithms', body: Buffer.concat([Buffer.from('{"name":"a'), bad, Buffer.from(`","roleArn":"${ROLE}","trainingContainerConfig":{"imageUri":"x"}}`)]) };
    }
    default:
      return { method: 'POST', path: `/tags/${ARN}`, body: `{"tags":${map()}}` };
  }
}

function body(r: ReturnType<typeof rng>): string {
  switch (r.int(6)) {
    case 0:
      return '';
    case 1:
      return r.pick(['{', '[]', 'null', '"str"', '{"resourceConfig": {"instanceCount": 1e400}}', '{"maxResults": -0.0}', '{"a":'.repeat(2000), '\u0000\u00ff', '{"tags": {"aws:x": "y"}}', '{}']);
    case 2:
      return r.junk(200);
    case 3:
      return JSON.stringify({ [r.pick(BODY_MEMBERS)]: r.pick(ODD_VALUES), [r.pick(BODY_MEMBERS)]: r.pick(ODD_VALUES) });
    case 4:
      return JSON.stringify(Object.fromEntries(BODY_MEMBERS.filter(() => r.next() < 0.1).map((m) => [m, r.pick(ODD_VALUES)])));
    default:
      return `[${'['.repeat(r.int(5000))}`;
  }
}

function headers(r: ReturnType<typeof rng>): Record<string, string> {
  const h: Record<string, string> = {};
  const ct = r.pick(CONTENT_TYPES);
  if (ct !== undefined) h['content-type'] = ct;
  if (r.next() < 0.2) h.authorization = r.pick(['AWS4-HMAC-SHA256 garbage', 'AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64), 'Basic abc', '']);
  if (r.next() < 0.1) h['x-amz-date'] = r.pick(['20240101T000000Z', 'yesterday', '99999999T999999Z']);
  if (r.next() < 0.1) h['x-amz-content-sha256'] = r.pick(['UNSIGNED-PAYLOAD', 'abc']);
  if (r.next() < 0.05) h['x-long'] = 'v'.repeat(8000);
  if (r.next() < 0.05) h.origin = r.pick(['https://evil.example', 'null', 'http://127.0.0.1', '']);
  if (r.next() < 0.05) h.host = r.pick(['evil.example', 'localhost', '127.0.0.1:1', '[::1]', '', 'a:b:c', '[zz']);
  return h;
}

interface Seen {
  status: number;
  errorType?: string;
  json: boolean;
}

function send(port: number, method: string, p: string, b: string | Buffer, h: Record<string, string>): Promise<Seen> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path: p, headers: { ...h, 'content-length': Buffer.byteLength(b) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = method === 'HEAD';
        try {
          json ||= typeof JSON.parse(text) === 'object';
        } catch {
          /* counted below */
        }
        resolve({ status: res.statusCode ?? 0, errorType: res.headers['x-amzn-errortype'] as string | undefined, json });
      });
    });
    req.on('error', () => resolve({ status: -1, json: false }));
    req.end(b);
  });
}

/** Bytes that are not HTTP at all, straight onto a socket: the answer must still be an AWS-shaped 4xx. */
function sendRaw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', () => resolve(''));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

async function fuzz(port: number, seed: number, count: number): Promise<Map<string, number>> {
  const r = rng(seed);
  const tally = new Map<string, number>();
  const deadline = Date.now() + 150_000;
  const verdicts: string[] = [];
  for (let sent = 0; sent < count && Date.now() < deadline; sent += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - sent) }, () => {
        if (r.next() < 0.3) {
          const h = hostileBody(r);
          return send(port, h.method, h.path, h.body, r.next() < 0.8 ? { 'content-type': 'application/json' } : headers(r));
        }
        return send(port, r.pick(METHODS), path(r), body(r), headers(r));
      }),
    );
    for (const s of batch) {
      const key = `${s.status} ${s.errorType ?? ''}`.trim();
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (s.status >= 300 && (!s.errorType || !s.json)) verdicts.push(`not AWS-shaped: ${key}`);
    }
  }
  expect(verdicts.slice(0, 5)).toEqual([]);
  return tally;
}

/** 2xx and 4xx are fine; the only 5xx allowed is the deliberate 501 for operations this runner does not implement. */
const unexpected = (tally: Map<string, number>) => [...tally.entries()].filter(([k]) => !/^[24]\d\d\b/.test(k) && k !== '501 NotImplementedException');

describe('the endpoint under malformed input', () => {
  let service: ReturnType<typeof tempService>;
  let open: RunningServer;
  let signed: RunningServer;
  const cleanup: string[] = [];
  beforeAll(async () => {
    service = tempService();
    // The data root the open server may serve, with a folder in it and a link out of it, among the fuzzed paths.
    const root = tempDataFolder({ 'train/data.csv': '1\n' });
    symlinkSync('/proc', join(root, 'proc'));
    LOCAL_PATHS.push(root, join(root, 'train'), join(root, 'proc'), `${root}/train/..`, join(root, 'missing'));
    cleanup.push(root);
    const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({ name: 'a', roleArn: ROLE, trainingContainerConfig: { imageUri: 'x' } });
    ASSOCIATION = (await service.createConfiguredModelAlgorithmAssociation({ membershipIdentifier: UUID, configuredModelAlgorithmArn, name: 'a' }))
      .configuredModelAlgorithmAssociationArn;
    open = await startServer({ service, maxBodyBytes: 64 * 1024, localDataRoots: [root] });
    signed = await startServer({ service, maxBodyBytes: 64 * 1024, credentials: { accessKeyId: 'AKIDFUZZ', secretAccessKey: 'secret' } });
  });
  afterAll(async () => {
    await open.close();
    await signed.close();
    await service[Symbol.asyncDispose]();
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it('answers 10,000 malformed requests with AWS-shaped errors, never a 500, and stays up', async () => {
    const tally = await fuzz(open.port, 42, 10_000);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(unexpected(tally), JSON.stringify([...tally])).toEqual([]);
    expect(tally.get('400 ValidationException')).toBeGreaterThan(100); // the service's own validation was reached
    expect((await fetch(`${open.url}/configured-model-algorithms`)).status).toBe(200);
  });

  it('answers 1,000 malformed requests to a server that wants signatures with 4xx only', async () => {
    const tally = await fuzz(signed.port, 7, 1_000);
    expect([...tally.keys()].filter((k) => !/^4\d\d /.test(k)), JSON.stringify([...tally])).toEqual([]);
  });

  it('answers bytes that are not HTTP with an AWS-shaped 400, and an oversize body with 413', async () => {
    for (const raw of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'POST /tags/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n', '\u0000\u0001\u0002\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
      const answer = await sendRaw(open.port, raw);
      expect(answer, JSON.stringify(raw)).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(answer.toLowerCase(), JSON.stringify(raw)).toContain('x-amzn-errortype:');
    }
    expect((await send(open.port, 'POST', '/configured-model-algorithms', 'x'.repeat(70 * 1024), {})).status).toBe(413);
    expect((await fetch(`${open.url}/configured-model-algorithms`)).status).toBe(200);
  });
});
