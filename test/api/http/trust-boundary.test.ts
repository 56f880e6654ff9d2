import { request } from 'node:http';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/api/http/server.js';
import { MEMBERSHIP, ROLE_ARN, tempDataFolder, tempService } from '../../helpers/fixtures.js';

interface Answer {
  status: number;
  type?: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** A raw HTTP request, so Host, Origin and the body's bytes are exactly what a hostile caller sends. */
function send(port: number, method: string, path: string, body: string | Buffer = '', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, type: res.headers['x-amzn-errortype'] as string | undefined, body: text ? JSON.parse(text) : {}, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the endpoint treats its callers as hostile', () => {
  let service: ReturnType<typeof tempService>;
  let open: RunningServer;
  let rooted: RunningServer;
  let association: string;
  const root = tempDataFolder();
  const outside = tempDataFolder();
  beforeAll(async () => {
    mkdirSync(join(root, 'train'));
    symlinkSync(outside, join(root, 'escape'));
    service = tempService();
    open = await startServer({ service });
    rooted = await startServer({ service, localDataRoots: [root], allowedOrigins: ['https://app.example'], allowedHosts: ['crml.internal'] });
    const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({ name: 'a', roleArn: ROLE_ARN, trainingContainerConfig: { imageUri: 'crml-examples/probe:latest' } });
    ({ configuredModelAlgorithmAssociationArn: association } = await service.createConfiguredModelAlgorithmAssociation({
      membershipIdentifier: MEMBERSHIP,
      configuredModelAlgorithmArn,
      name: 'assoc',
    }));
  });
  afterAll(async () => {
    await open.close();
    await rooted.close();
    await service[Symbol.asyncDispose]();
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const channel = (server: RunningServer, path: string) =>
    send(
      server.port,
      'POST',
      `/memberships/${MEMBERSHIP}/ml-input-channels`,
      JSON.stringify({
        name: 'c',
        retentionInDays: 1,
        configuredModelAlgorithmAssociations: [association],
        inputChannel: { roleArn: ROLE_ARN, dataSource: { localDataSource: { path } } },
      }),
    );

  it('refuses localDataSource over HTTP unless the server was given the folders it may serve, and only inside them', async () => {
    const none = await channel(open, root);
    expect(none.status).toBe(403);
    expect(none.type).toBe('AccessDeniedException');
    expect(none.body.message).toContain('--local-data-root');
    expect((await channel(rooted, join(root, 'train'))).status).toBe(200);
    for (const p of [outside, join(root, 'escape'), '/proc', '/', '/var/run', '/etc']) {
      const r = await channel(rooted, p);
      expect({ p, status: r.status, type: r.type }).toEqual({ p, status: 403, type: 'AccessDeniedException' });
      expect(r.body.message).not.toContain('existing');
    }
    for (const [p, why] of [
      ['', 'Member must not be empty'],
      [`${root}/train/../train`, "Member must not contain '..' segments over HTTP"],
      ['train', 'Member must be an absolute path over HTTP'],
    ] as const) {
      const r = await channel(rooted, p);
      expect({ p, status: r.status, type: r.type }).toEqual({ p, status: 400, type: 'ValidationException' });
      expect(r.body.message).toContain(`at 'inputChannel.dataSource.localDataSource.path' failed to satisfy constraint: ${why}`);
    }
  });

  it('lets TypeScript callers name any folder but a system one, and refuses an empty path', async () => {
    const create = (path: string) =>
      service.createMLInputChannel({
        membershipIdentifier: MEMBERSHIP,
        name: 'ts',
        retentionInDays: 1,
        configuredModelAlgorithmAssociations: [association],
        inputChannel: { roleArn: ROLE_ARN, dataSource: { localDataSource: { path } } },
      });
    await expect(create(outside)).resolves.toMatchObject({ mlInputChannelArn: expect.any(String) });
    await expect(create('/')).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining("Value '/' at 'inputChannel.dataSource.localDataSource.path'") });
    await expect(create('/proc')).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('system folder') });
    await expect(create('')).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Member must not be empty') });
  });

  it('refuses a foreign Origin or a foreign Host (CSRF, DNS rebinding) with an AWS-shaped 403; loopback and allowed ones pass', async () => {
    const list = (server: RunningServer, headers: Record<string, string>) => send(server.port, 'GET', '/configured-model-algorithms', '', headers);
    const evil = await send(open.port, 'POST', '/configured-model-algorithms', '{}', { origin: 'https://evil.example' });
    expect({ status: evil.status, type: evil.type, bodyType: evil.body.__type }).toEqual({ status: 403, type: 'AccessDeniedException', bodyType: 'AccessDeniedException' });
    expect(evil.body.message).toContain("Origin 'https://evil.example'");
    const rebound = await list(open, { host: `evil.example:${open.port}` });
    expect({ status: rebound.status, type: rebound.type }).toEqual({ status: 403, type: 'AccessDeniedException' });
    expect(rebound.body.message).toContain("Host 'evil.example");
    for (const host of [`127.0.0.1:${open.port}`, `127.1.2.3:${open.port}`, `localhost:${open.port}`, `[::1]:${open.port}`, 'localhost']) {
      expect((await list(open, { host })).status, host).toBe(200);
    }
    expect((await list(rooted, { host: 'crml.internal:8080' })).status).toBe(200);
    const allowed = await list(rooted, { origin: 'https://app.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
    const preflight = await send(rooted.port, 'OPTIONS', '/configured-model-algorithms', '', { origin: 'https://app.example', 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(204);
    const failed = await send(rooted.port, 'POST', '/configured-model-algorithms', '{}', { origin: 'https://app.example' });
    expect({ status: failed.status, cors: failed.headers['access-control-allow-origin'] }).toEqual({ status: 400, cors: 'https://app.example' });
    expect((await list(rooted, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('answers bad bodies with a 400, never a 500: deep nesting, invalid UTF-8', async () => {
    const deep = `{"name":"a","roleArn":"${ROLE_ARN}","trainingContainerConfig":{"imageUri":"x"},"tags":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const r = await send(open.port, 'POST', '/configured-model-algorithms', deep);
    expect({ status: r.status, type: r.type }).toEqual({ status: 400, type: 'SerializationException' });
    expect(r.body.message).toContain('deeper than 64 levels');
    const nested64 = `{"x":${'['.repeat(63)}${']'.repeat(63)}}`;
    expect((await send(open.port, 'POST', '/configured-model-algorithms', nested64)).type).toBe('ValidationException');
    const latin1 = Buffer.concat([Buffer.from(`{"name":"caf`), Buffer.from([0xe9]), Buffer.from(`","roleArn":"${ROLE_ARN}","trainingContainerConfig":{"imageUri":"x"}}`)]);
    const u = await send(open.port, 'POST', '/configured-model-algorithms', latin1);
    expect({ status: u.status, type: u.type, message: u.body.message }).toEqual({ status: 400, type: 'SerializationException', message: 'The request body is not valid UTF-8.' });
    const q = await send(open.port, 'GET', '/configured-model-algorithms?nextToken=%E9');
    expect({ status: q.status, type: q.type }).toEqual({ status: 400, type: 'SerializationException' });
    expect((await service.listConfiguredModelAlgorithms({})).configuredModelAlgorithms.map((a) => a.name)).toEqual(['a']);
  });

  it("keeps 'constructor' and 'prototype' map keys as sent and refuses '__proto__' by name, in tags, hyperparameters and environment", async () => {
    const algorithm = (tags: string) =>
      send(open.port, 'POST', '/configured-model-algorithms', `{"name":"p","roleArn":"${ROLE_ARN}","trainingContainerConfig":{"imageUri":"x"},"tags":${tags}}`);
    const kept = await algorithm('{"constructor":"c","prototype":"p"}');
    expect(kept.status).toBe(200);
    const arn = kept.body.configuredModelAlgorithmArn as string;
    expect((await send(open.port, 'GET', `/tags/${encodeURIComponent(arn)}`)).body).toEqual({ tags: { constructor: 'c', prototype: 'p' } });
    const proto = await algorithm('{"__proto__":"x","k":"v"}');
    expect({ status: proto.status, type: proto.type, message: proto.body.message }).toEqual({
      status: 400,
      type: 'ValidationException',
      message: "1 validation error detected: Value '__proto__' at 'tags' failed to satisfy constraint: Map keys must not be '__proto__' (cleanrooms-ml-local cannot keep it)",
    });
    for (const member of ['hyperparameters', 'environment']) {
      const r = await send(
        open.port,
        'POST',
        `/memberships/${MEMBERSHIP}/trained-models`,
        `{"name":"m","configuredModelAlgorithmAssociationArn":"${association}","resourceConfig":{"instanceType":"ml.m5.large","volumeSizeInGB":1},` +
          `"dataChannels":[{"mlInputChannelArn":"arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/${MEMBERSHIP}/ml-input-channel/x","channelName":"train"}],"${member}":{"__proto__":"1"}}`,
      );
      expect({ member, status: r.status, message: r.body.message }).toEqual({
        member,
        status: 400,
        message: `1 validation error detected: Value '__proto__' at '${member}' failed to satisfy constraint: Map keys must not be '__proto__' (cleanrooms-ml-local cannot keep it)`,
      });
    }
  });
});
