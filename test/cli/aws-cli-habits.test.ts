import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { awsEnv } from '../helpers/aws-clients.js';
import { MEMBERSHIP, ROLE_ARN, tempDataFolder, tempService } from '../helpers/fixtures.js';
import { startServer, type RunningServer } from '../../src/api/http/server.js';

/**
 * `crml <api command> …` against `aws cleanroomsml <api command> …` (Debian's awscli 2.9, through `crml serve` on the
 * same data folder): the same --query, --output, skeletons and pagination flags must print the same thing.
 */
const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);

let service: ReturnType<typeof tempService>;
let server: RunningServer;
let folder = '';
let algorithmArn = '';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  try {
    const r = await run(file, args, { env, cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const aws = (args: string[]) => exec('/usr/bin/aws', ['--endpoint-url', server.url, 'cleanroomsml', ...args], { ...awsEnv(), COLUMNS: '80' });
const crml = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  exec(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], { PATH: process.env.PATH, HOME: process.env.HOME, CRML_DATA_DIR: service.dataDir, ...env });

/** Both CLIs with the same arguments: both succeed, and their stdout is returned. */
async function both(args: string[]): Promise<{ aws: string; crml: string }> {
  const [a, c] = await Promise.all([aws(args), crml(args)]);
  expect(a.stderr, `aws ${args.join(' ')}`).toBe('');
  expect(a.code).toBe(0);
  expect(c.stderr, `crml ${args.join(' ')}`).toBe('');
  expect(c.code).toBe(0);
  return { aws: a.stdout, crml: c.stdout };
}

beforeAll(async () => {
  service = tempService();
  folder = tempDataFolder();
  for (const [name, description] of [['algo-a', 'first'], ['algo-b', 'second'], ['algo-c', 'third'], ['algo-d', 'fourth'], ['algo-e', 'fifth']]) {
    const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({
      name: name!,
      description,
      roleArn: ROLE_ARN,
      trainingContainerConfig: {
        imageUri: `crml-examples/probe:${name}`,
        metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+)' }, { name: 'accuracy', regex: 'acc=([0-9.]+)' }],
      },
      tags: { team: 'ml', stage: name! },
    });
    algorithmArn ||= configuredModelAlgorithmArn;
    const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({
      membershipIdentifier: MEMBERSHIP,
      configuredModelAlgorithmArn,
      name: `assoc-${name}`,
    });
    await service.createMLInputChannel({
      membershipIdentifier: MEMBERSHIP,
      name: `channel-${name}`,
      retentionInDays: 1,
      configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn],
      inputChannel: { roleArn: ROLE_ARN, dataSource: { localDataSource: { path: folder } } },
    });
  }
  server = await startServer({ service });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await service?.[Symbol.asyncDispose]();
});

const LIST_ALGOS = ['list-configured-model-algorithms'];
const LIST_ASSOCS = ['list-configured-model-algorithm-associations', '--membership-identifier', MEMBERSHIP];
const LIST_CHANNELS = ['list-ml-input-channels', '--membership-identifier', MEMBERSHIP];
const getAlgo = () => ['get-configured-model-algorithm', '--configured-model-algorithm-arn', algorithmArn];

describe('crml --query … --output json prints what the AWS CLI prints', () => {
  const cases: [string, () => string[], string][] = [
    ['a projection', () => LIST_ALGOS, 'configuredModelAlgorithms[].name'],
    ['a filter, then the first', () => LIST_ALGOS, "configuredModelAlgorithms[?name=='algo-b'].configuredModelAlgorithmArn | [0]"],
    ['length', () => LIST_ALGOS, 'length(configuredModelAlgorithms)'],
    ['length(@) of a projection', () => LIST_ALGOS, 'configuredModelAlgorithms[].name | length(@)'],
    ['a multiselect hash', () => LIST_ALGOS, 'configuredModelAlgorithms[].{n: name, d: description, t: createTime}'],
    ['sort_by, reversed', () => LIST_ALGOS, 'reverse(sort_by(configuredModelAlgorithms, &description))[].name'],
    ['a status filter', () => LIST_CHANNELS, "mlInputChannelsList[?status=='ACTIVE'].name"],
    ['a multiselect list', () => LIST_ASSOCS, 'configuredModelAlgorithmAssociations[].[name, configuredModelAlgorithmArn]'],
    ['the latest by a timestamp', () => LIST_ASSOCS, 'sort_by(configuredModelAlgorithmAssociations, &createTime)[-1].name'],
    ['a nested field', getAlgo, 'trainingContainerConfig.imageUri'],
    ['a nested list projection', getAlgo, 'trainingContainerConfig.metricDefinitions[].name'],
    ['a filter on a nested list', getAlgo, "trainingContainerConfig.metricDefinitions[?name=='accuracy'] | [0].regex"],
    ['keys of the response', getAlgo, 'keys(@)'],
    ['contains', () => LIST_ALGOS, "configuredModelAlgorithms[?contains(name, 'c')].description"],
    ['a missing field (null)', getAlgo, 'noSuchField'],
  ];
  for (const [what, args, query] of cases) {
    it(`${what}: ${query}`, async () => {
      const out = await both([...args(), '--query', query, '--output', 'json']);
      expect(JSON.parse(out.crml)).toEqual(JSON.parse(out.aws));
      expect(out.crml).toBe(out.aws);
    }, 120_000);
  }

  it('a whole get and a whole list, without --query, print the same', async () => {
    for (const args of [getAlgo(), LIST_ALGOS, LIST_CHANNELS]) {
      const out = await both([...args, '--output', 'json']);
      expect(out.crml).toBe(out.aws);
    }
  }, 120_000);
});

describe('crml --output text|table|yaml prints what the AWS CLI prints', () => {
  const cases: [() => string[], string, string | undefined][] = [
    [getAlgo, 'text', undefined],
    [() => LIST_ALGOS, 'text', undefined],
    [() => LIST_ALGOS, 'text', 'configuredModelAlgorithms[].[name, description]'],
    [() => LIST_ASSOCS, 'text', 'configuredModelAlgorithmAssociations[].name'],
    [getAlgo, 'table', undefined],
    [() => LIST_ALGOS, 'table', undefined],
    [() => LIST_ALGOS, 'table', 'configuredModelAlgorithms[].{Name: name, Description: description}'],
    [() => LIST_CHANNELS, 'table', 'length(mlInputChannelsList)'],
    [getAlgo, 'yaml', undefined],
    [() => LIST_ALGOS, 'yaml', 'configuredModelAlgorithms[].{n: name, d: description}'],
    [() => LIST_ALGOS, 'yaml', 'length(configuredModelAlgorithms)'],
  ];
  for (const [args, output, query] of cases) {
    it(`${args()[0]} --output ${output}${query ? ` --query ${query}` : ''}`, async () => {
      const out = await both([...args(), '--output', output, ...(query ? ['--query', query] : [])]);
      if (output === 'yaml') expect(YAML.parse(out.crml)).toEqual(YAML.parse(out.aws));
      expect(out.crml).toBe(out.aws);
    }, 120_000);
  }

  it('AWS_DEFAULT_OUTPUT picks the format, --output wins over it', async () => {
    const text = await crml(getAlgo(), { AWS_DEFAULT_OUTPUT: 'text' });
    const awsText = await aws([...getAlgo(), '--output', 'text']);
    expect(text.stdout).toBe(awsText.stdout);
    const json = await crml([...getAlgo(), '--output', 'json'], { AWS_DEFAULT_OUTPUT: 'text' });
    expect(JSON.parse(json.stdout)).toHaveProperty('name', 'algo-a');
  }, 120_000);
});

describe('pagination flags as the AWS CLI has them', () => {
  it('--max-items 2 prints two items and a NextToken in the AWS CLI format; --starting-token goes on from it, either way', async () => {
    const first = await both([...LIST_ALGOS, '--max-items', '2']);
    const crmlFirst = JSON.parse(first.crml) as { configuredModelAlgorithms: { name: string }[]; NextToken: string };
    expect(crmlFirst).toEqual(JSON.parse(first.aws));
    expect(crmlFirst.configuredModelAlgorithms).toHaveLength(2);
    const token = crmlFirst.NextToken;
    expect(token).toBeTruthy();

    const awsNext = JSON.parse((await aws([...LIST_ALGOS, '--max-items', '2', '--starting-token', token])).stdout) as typeof crmlFirst;
    const crmlNext = JSON.parse((await crml([...LIST_ALGOS, '--max-items', '2', '--starting-token', token])).stdout) as typeof crmlFirst;
    expect(crmlNext).toEqual(awsNext);
    expect(crmlNext.configuredModelAlgorithms).toHaveLength(2);
    const seen = [...crmlFirst.configuredModelAlgorithms, ...crmlNext.configuredModelAlgorithms].map((a) => a.name);
    expect(new Set(seen).size).toBe(4);

    const rest = JSON.parse((await crml([...LIST_ALGOS, '--starting-token', crmlNext.NextToken])).stdout) as typeof crmlFirst;
    expect(rest.configuredModelAlgorithms).toHaveLength(1);
    expect(rest).not.toHaveProperty('NextToken');
  }, 180_000);

  it('--page-size 2 follows every page and merges them; with --max-items 3 the token carries the service token', async () => {
    const all = await both([...LIST_ALGOS, '--page-size', '2', '--query', 'configuredModelAlgorithms[].name']);
    expect(JSON.parse(all.crml)).toHaveLength(5);
    expect(JSON.parse(all.crml)).toEqual(JSON.parse(all.aws));
    const three = await both([...LIST_ALGOS, '--page-size', '2', '--max-items', '3']);
    expect(JSON.parse(three.crml)).toEqual(JSON.parse(three.aws));
    const four = await both([...LIST_ALGOS, '--page-size', '2', '--max-items', '4', '--output', 'text']);
    expect(four.crml).toBe(four.aws);
  }, 180_000);

  it('--max-items with --output text (query per page, then the NextToken) and --output table print as the AWS CLI', async () => {
    for (const extra of [['--output', 'text', '--query', 'configuredModelAlgorithms[].name'], ['--output', 'text'], ['--output', 'table']]) {
      const out = await both([...LIST_ALGOS, '--max-items', '2', ...extra]);
      expect(out.crml).toBe(out.aws);
    }
  }, 180_000);

  it('--no-paginate makes one call and prints the service nextToken; with pagination flags it is a usage error', async () => {
    const one = await both([...LIST_ALGOS, '--no-paginate', '--max-results', '2']);
    expect(JSON.parse(one.crml)).toEqual(JSON.parse(one.aws));
    expect(JSON.parse(one.crml)).toHaveProperty('nextToken');
    const bad = await crml([...LIST_ALGOS, '--no-paginate', '--max-items', '2']);
    expect(bad.code).toBe(252);
    expect(bad.stderr).toContain('Cannot specify --no-paginate along with pagination arguments: --max-items');
  }, 120_000);
});

describe('--generate-cli-skeleton and --cli-input-json/yaml', () => {
  for (const op of ['create-trained-model', 'create-ml-input-channel', 'list-trained-models']) {
    it(`${op} --generate-cli-skeleton prints the AWS CLI's skeleton`, async () => {
      const out = await both([op, '--generate-cli-skeleton']);
      expect(out.crml).toBe(out.aws);
      const yaml = await both([op, '--generate-cli-skeleton', 'yaml-input']);
      expect(YAML.parse(yaml.crml)).toEqual(YAML.parse(yaml.aws));
    }, 120_000);
  }

  it("--generate-cli-skeleton output prints the AWS CLI's sample response", async () => {
    for (const args of [LIST_ALGOS, ['list-tags-for-resource', '--resource-arn', algorithmArn]]) {
      const out = await both([...args, '--generate-cli-skeleton', 'output']);
      expect(out.crml).toBe(out.aws);
    }
  }, 120_000);

  it('--cli-input-json and --cli-input-yaml give the input, flags win over them', async () => {
    const json = await crml(['get-configured-model-algorithm', '--cli-input-json', JSON.stringify({ configuredModelAlgorithmArn: algorithmArn }), '--query', 'name']);
    expect(json).toMatchObject({ code: 0, stdout: '"algo-a"\n' });
    const yaml = await crml(['get-configured-model-algorithm', '--cli-input-yaml', `configuredModelAlgorithmArn: ${algorithmArn}\n`, '--output', 'text', '--query', 'name']);
    expect(yaml).toMatchObject({ code: 0, stdout: 'algo-a\n' });
    const other = JSON.parse((await crml([...LIST_ALGOS, '--query', 'configuredModelAlgorithms[1].configuredModelAlgorithmArn'])).stdout) as string;
    const overridden = await crml(['get-configured-model-algorithm', '--cli-input-json', JSON.stringify({ configuredModelAlgorithmArn: algorithmArn }), '--configured-model-algorithm-arn', other, '--query', 'configuredModelAlgorithmArn']);
    expect(JSON.parse(overridden.stdout)).toBe(other);
  }, 120_000);
});

describe('usage errors', () => {
  it('a bad --query names the expression, exit 252, as the AWS CLI', async () => {
    const [a, c] = [await aws([...LIST_ALGOS, '--query', 'foo[']), await crml([...LIST_ALGOS, '--query', 'foo['])];
    expect(a.code).toBe(252);
    expect(a.stderr).toContain('Bad value for --query foo[');
    expect(c.code).toBe(252);
    expect(c.stderr).toContain('Bad value for --query foo[');
  }, 120_000);

  it('a bad --output, --log-level or AWS_DEFAULT_OUTPUT is a usage error', async () => {
    expect((await crml([...LIST_ALGOS, '--output', 'xml'])).code).toBe(252);
    const level = await crml(['--log-level', 'loud', ...LIST_ALGOS]);
    expect(level.code).toBe(252);
    expect(level.stderr).toContain("--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got 'loud'");
    expect((await crml(LIST_ALGOS, { AWS_DEFAULT_OUTPUT: 'xml' })).code).toBe(252);
  }, 120_000);

  it('--log-level overrides CRML_LOG_LEVEL; the log is JSON lines on a pipe', async () => {
    const quiet = await crml(['--log-level', 'silent', ...LIST_ALGOS], { CRML_LOG_LEVEL: 'trace' });
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    const chatty = await crml(['--log-level', 'trace', ...LIST_ALGOS]);
    expect(chatty.code).toBe(0);
    const lines = chatty.stderr.split('\n').filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  }, 120_000);
});

describe('crml --help', () => {
  it('groups the commands: getting started, the API commands, the server; each command has an example', async () => {
    const help = (await crml(['--help'])).stdout;
    const order = ['Getting started:', 'logs', 'API commands', 'create-trained-model', 'The server:', 'serve'].map((s) => help.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const get = (await crml(['get-trained-model', '--help'])).stdout;
    expect(get).toContain('Example:\n  $ crml get-trained-model --trained-model-arn <trained-model-arn>');
    expect((await crml(['logs', '--help'])).stdout).toContain('Example:');
  }, 120_000);
});
