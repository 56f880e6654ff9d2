import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SettingsError, settingsFromEnv } from '../../src/settings.js';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '../..');

/** Bad values a user can set, each with a word of what the message must say is accepted. */
const BAD: [name: string, value: string, accepted: RegExp][] = [
  ['CRML_STOP_GRACE_PERIOD_SECONDS', 'abc', /number of seconds/],
  ['CRML_PULL_POLICY', 'bogus', /'missing', 'always' or 'never'/],
  ['CRML_PIDS_LIMIT', '-1', /whole number of 1 or more/],
  ['CRML_ECR_REGISTRIES', 'proxy.example.com=123456789012:us-east-1,proxy2', /host=account:region/],
  ['CRML_STRICT_RESOURCES', 'maybe', /'true', 'false', '1' or '0'/],
  ['CRML_LOG_LEVEL', 'loud', /'warn'/],
  ['DOCKER_HOST', '/var/run/docker.sock', /unix:\/\/\/var\/run\/docker\.sock/],
  // Every ARN made would fail the ARN's own pattern, so nothing created could be read back.
  ['CRML_REGION', 'US-East-1', /AWS region such as us-east-1/],
  ['AWS_REGION', 'us east 1', /AWS region such as us-east-1/],
  // A container given no time at all to answer /ping could never pass.
  ['CRML_INFERENCE_PING_TIMEOUT_SECONDS', '0', /number of seconds above 0/],
  ['CRML_INFERENCE_INVOCATION_TIMEOUT_SECONDS', 'ten', /number of seconds above 0/],
  ['CRML_INFERENCE_ALLOW_HOST_REACHABLE', 'yes', /'true', 'false', '1' or '0'/],
];

/** The real CLI, as a user runs it: its exit code and stderr. */
async function crml(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'crml-settings-'));
  try {
    await promisify(execFile)('npx', ['tsx', 'src/cli/bin.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, CRML_DATA_DIR: dataDir, ...env },
      timeout: 60_000,
    });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? '' };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('settings from the environment', () => {
  it.each(BAD)('refuses %s=%s, naming the variable, the value and what is accepted', (name, value, accepted) => {
    let error: unknown;
    try {
      settingsFromEnv({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).message).toContain(`Expected ${name} to be `);
    expect((error as Error).message).toContain(`got '${value}'`);
    expect((error as Error).message).toMatch(accepted);
  });

  it('reads good values, every variable the project uses included', () => {
    const s = settingsFromEnv({
      CRML_STOP_GRACE_PERIOD_SECONDS: '2.5',
      CRML_PULL_POLICY: 'never',
      CRML_PIDS_LIMIT: '100',
      CRML_ECR_REGISTRIES: 'proxy.example.com=123456789012:eu-west-1, p2=210987654321:us-east-2',
      CRML_STRICT_RESOURCES: 'true',
      CRML_NO_NEW_PRIVILEGES: '0',
      CRML_LOG_LEVEL: 'debug',
      AWS_REGION: 'eu-west-1',
      CRML_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      CRML_SECRET_ACCESS_KEY: 'secret',
      DOCKER_HOST: 'tcp://127.0.0.1:2375',
      DOCKER_CONFIG: '/somewhere',
      SSH_AUTH_SOCK: '/tmp/agent.sock',
      CRML_PULL_POLICY_UNKNOWN: 'ignored',
      CRML_INFERENCE_PING_TIMEOUT_SECONDS: '30',
      CRML_INFERENCE_INVOCATION_TIMEOUT_SECONDS: '1.5',
      CRML_INFERENCE_ALLOW_HOST_REACHABLE: '1',
    });
    expect(s).toMatchObject({
      stopGracePeriodMs: 2500,
      pullPolicy: 'never',
      strictResources: true,
      region: 'eu-west-1',
      logLevel: 'debug',
      hardening: { pidsLimit: 100, noNewPrivileges: false },
      ecr: { registries: { 'proxy.example.com': { accountId: '123456789012', region: 'eu-west-1' }, p2: { accountId: '210987654321', region: 'us-east-2' } } },
      sigv4: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      engine: { dockerHost: 'tcp://127.0.0.1:2375', sshAuthSock: '/tmp/agent.sock' },
      dockerConfigPath: '/somewhere/config.json',
      defaultMaxRuntimeSeconds: 86_400,
      inferencePingTimeoutMs: 30_000,
      inferenceInvocationTimeoutMs: 1500,
      inferenceAllowHostReachable: true,
    });
    expect(settingsFromEnv({ AWS_REGION: 'eu-west-1', CRML_REGION: 'eu-central-1', CRML_PIDS_LIMIT: '' })).toMatchObject({
      region: 'eu-central-1',
      hardening: { pidsLimit: 4096 },
    });
  });

  it('takes the default max runtime from the settings', async () => {
    const runner = new ScriptedRunner();
    await using service = tempService({ runner, settings: { defaultMaxRuntimeSeconds: 600 } });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'short', configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn);
    expect(runner.specs[0]).toMatchObject({ maxRuntimeInSeconds: 600 });
    expect((await service.getTrainedModel({ membershipIdentifier: MEMBERSHIP, trainedModelArn })).stoppingCondition).toEqual({ maxRuntimeInSeconds: 600 });
  });

  it('stops the CLI with exit code 252 and a message naming each bad variable', async () => {
    const results = await Promise.all(BAD.map(([name, value]) => crml(['list-trained-models'], { [name]: value })));
    results.forEach((r, i) => {
      const [name, value] = BAD[i]!;
      expect(r.code, `${name}=${value}: ${r.stderr}`).toBe(252);
      expect(r.stderr).toContain(`crml: Expected ${name} to be `);
      expect(r.stderr).toContain(`got '${value}'`);
      expect(r.stderr).not.toContain('internal error');
    });
  }, 180_000);

  it('stops `crml serve` the same way, before it listens', async () => {
    const r = await crml(['serve', '--port', '0'], { CRML_STOP_GRACE_PERIOD_SECONDS: 'abc' });
    expect(r.code).toBe(252);
    expect(r.stderr).toContain("crml: Expected CRML_STOP_GRACE_PERIOD_SECONDS to be a number of seconds (0 or more, such as 30 or 2.5), got 'abc'.");
  }, 90_000);
});
