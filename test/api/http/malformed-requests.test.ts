import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { tempService } from '../../helpers/fixtures.js';
import { startServer, type RunningServer } from '../../../src/api/http/server.js';

/** A small deterministic generator so a failing case can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const PATHS = [
  '/configured-model-algorithms', '/configured-model-algorithms/arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A123456789012%3Aconfigured-model-algorithm%2Fx',
  '/memberships/00000000-0000-4000-8000-000000000001/trained-models', '/memberships/not-a-uuid/trained-models/%E0%A4%A',
  '/memberships/00000000-0000-4000-8000-000000000001/ml-input-channels', '/tags/%zz', '/', '/audience-model', '//..//',
  '/memberships/00000000-0000-4000-8000-000000000001/trained-models/x/versions?maxResults=-1&nextToken=%00',
  '/collaborations/00000000-0000-4000-8000-0000000000c1/trained-models?maxResults=abc',
];
const BODIES = ['', '{', '[]', 'null', '{"name": 5}', '{"name": "' + 'a'.repeat(5000) + '"}', '\u0000\u00ff', '{"resourceConfig": {"instanceCount": 1e400}}', '{"tags": {"aws:x": "y"}}', '"str"', '{"dataChannels": [null]}', '{"a":'.repeat(2000)];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'BREW'];

function send(port: number, method: string, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(-1));
    req.end(body);
  });
}

describe('the endpoint under malformed input', () => {
  let service: ReturnType<typeof tempService>;
  let server: RunningServer;
  beforeAll(async () => {
    service = tempService();
    server = await startServer({ service, maxBodyBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await server.close();
    await service[Symbol.asyncDispose]();
  });

  it('answers 10,000 malformed requests with AWS-shaped 4xx, never a 5xx, and stays up', async () => {
    const next = rng(42);
    const pick = <T,>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    const statuses = new Map<number, number>();
    const deadline = Date.now() + 120_000;
    for (let batch = 0; batch < 100 && Date.now() < deadline; batch++) {
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          send(server.port, pick(METHODS), pick(PATHS), pick(BODIES), pick<Record<string, string>>([{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/json' }, { authorization: 'AWS4-HMAC-SHA256 garbage' }])),
        ),
      );
      for (const s of results) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(10_000);
    const serverErrors = [...statuses.entries()].filter(([s]) => s >= 500 || s < 0);
    expect(serverErrors, JSON.stringify([...statuses])).toEqual([]);
    const oversize = await send(server.port, 'POST', '/configured-model-algorithms', 'x'.repeat(70 * 1024), {});
    expect(oversize).toBe(413);
    const alive = await fetch(`${server.url}/configured-model-algorithms`);
    expect(alive.status).toBe(200);
  });
});
