import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { operations, paginators, shapes, type OperationMeta, type OperationName, type ShapeMeta } from '../api/generated/model.js';
import type { CleanRoomsMLLocal } from '../api/service.js';
import { kebabName, lowerCamel } from './names.js';
import { UsageError } from './errors.js';
import { cliValue, formatOutput, formatText, OUTPUT_FORMATS, type OutputFormat } from './output-formats.js';
import { mergePages, paginate } from './cli-pagination.js';
import { skeleton, yamlSkeleton } from './skeleton.js';
import { operationExample } from './help-examples.js';
import { jmespath, yaml } from './on-demand.js';

/**
 * One CLI command per operation, derived from the service model the way the AWS CLI derives its own:
 * `crml get-trained-model --membership-identifier … --trained-model-arn …`. Scalars are given as is,
 * structures, lists and maps as JSON. The AWS CLI's habits come along: `--output`, `--query`,
 * `--cli-input-json`/`--cli-input-yaml`, `--generate-cli-skeleton`, and for list operations its pagination flags.
 */

export interface OperationCommandDeps {
  service: () => CleanRoomsMLLocal;
  /** Resolves when the stream can take more (backpressure). */
  print: (text: string) => void | Promise<void>;
  /** `AWS_DEFAULT_OUTPUT`, which `--output` overrides (the AWS CLI's order); json when neither is given. */
  defaultOutput?: () => string | undefined;
  /** How wide `--output table` may be before single rows turn vertical (the terminal's width, else 80). */
  terminalWidth?: () => number;
  /** Runs after an operation that started a training run (the CLI keeps the run alive): the version it makes. */
  afterCreateTrainedModel?: (run: { trainedModelArn: string; versionIdentifier?: string }) => Promise<void>;
  /** Runs after StartTrainedModelInferenceJob: the job lives in this process too. */
  afterStartInferenceJob?: (job: { trainedModelInferenceJobArn: string }) => Promise<void>;
}

/**
 * `only(command)` says which commands are set up in full (options, help, action): setting up every
 * operation's options was a good part of a command's start, and one process runs one command. The others
 * get their name, description and one option, which is all `crml --help` shows of them
 * (`get-trained-model [options]`).
 */
export function addOperationCommands(program: Command, deps: OperationCommandDeps, only: (command: string) => boolean = () => true): void {
  for (const name of Object.keys(operations) as OperationName[]) {
    const op: OperationMeta = operations[name];
    const input = op.input ? (shapes[op.input] as Extract<ShapeMeta, { type: 'structure' }>) : undefined;
    const cmd = program.command(kebabName(name)).description(`Calls ${name}, as \`aws cleanroomsml ${kebabName(name)}\` would.`);
    if (!only(kebabName(name))) {
      cmd.addOption(outputOption());
      continue;
    }
    const members = input ? Object.entries(input.members) : [];
    for (const [member, ref] of members) {
      const type = shapes[ref.shape]?.type ?? 'string';
      const flag = `--${kebabName(member)} <${type === 'structure' || type === 'list' || type === 'map' ? 'json' : 'value'}>`;
      cmd.option(flag, `${member}${input?.required.includes(member) ? ' (required)' : ''}`);
    }
    cmd.option('--cli-input-json <json>', 'the whole input as JSON (or file://path); flags override its members');
    cmd.option('--cli-input-yaml <yaml>', 'the whole input as YAML (or file://path); flags override its members');
    cmd.addOption(
      new Option('--generate-cli-skeleton [type]', 'print a skeleton of the input (input, yaml-input) or output instead of calling')
        .choices(['input', 'output', 'yaml-input'])
        .preset('input'),
    );
    const paginator = paginators[name];
    if (paginator) {
      cmd.option('--starting-token <token>', 'where to start: the NextToken of a previous --max-items');
      cmd.option('--page-size <n>', 'items per call to the service (does not change what is printed)');
      cmd.option('--max-items <n>', 'at most this many items in all; a NextToken is printed when there are more');
      cmd.option('--no-paginate', 'one call only, printed as the service answered it');
    }
    cmd.addOption(outputOption());
    cmd.option('--query <expression>', 'a JMESPath expression applied to the response');
    if (name === 'CreateMLInputChannel') {
      cmd.option('--local-path <dir>', 'cleanrooms-ml-local: a folder whose files become the channel (localDataSource)');
    }
    cmd.addHelpText('after', `\nExample:\n  $ ${operationExample(name)}\n`);
    cmd.action(async (opts: Record<string, string | boolean | undefined>) => {
      const output = outputFormat(opts.output as string | undefined, deps.defaultOutput?.());
      const query = compileQuery(opts.query as string | undefined);
      const show = async (value: unknown) => {
        const text = formatOutput(output, name, query(value), deps.terminalWidth?.());
        if (text !== undefined) await deps.print(text);
      };
      const skeletonType = opts.generateCliSkeleton as string | undefined;
      if (skeletonType === 'input') return void (await deps.print(JSON.stringify(op.input ? skeleton(op.input) : {}, null, 4)));
      if (skeletonType === 'yaml-input') return void (await deps.print(op.input ? yamlSkeleton(op.input) : '{}'));
      const service = deps.service();
      const request = buildInput(name, members, opts as Record<string, string | undefined>, service.settings.defaultMembershipId);
      if (skeletonType === 'output') return void (await show(op.output ? skeleton(op.output, true) : {}));
      const method = lowerCamel(name) as keyof CleanRoomsMLLocal;
      const fn = service[method] as unknown as (i: unknown) => Promise<unknown>;
      const call = async (r: Record<string, unknown>) => ((await fn.call(service, r)) ?? {}) as Record<string, unknown>;
      // As the AWS CLI: a request that names the service's own paging members pages by hand.
      const paging = paginator && opts.paginate !== false && request[paginator.input_token] === undefined && request[paginator.limit_key] === undefined;
      if (paginator && !paging) refuseWithoutPagination(opts);
      let out: unknown;
      if (paging) {
        const paginated = await paginate(call, request, paginator, {
          maxItems: count('--max-items', opts.maxItems as string | undefined),
          pageSize: count('--page-size', opts.pageSize as string | undefined),
          startingToken: opts.startingToken as string | undefined,
        });
        if (output === 'text') {
          // The AWS CLI prints text page by page, --query applied to each.
          for (const page of paginated.pages) {
            const text = formatText(query(cliValue({ [paginator.result_key]: page[paginator.result_key] ?? null })));
            if (text) await deps.print(text.replace(/\n$/, ''));
          }
          if (paginated.resumeToken !== undefined) {
            const text = formatText(query({ NextToken: { NextToken: paginated.resumeToken } }));
            if (text) await deps.print(text.replace(/\n$/, ''));
          }
          return;
        }
        out = mergePages(paginated, paginator);
      } else {
        out = await call(request);
      }
      await show(cliValue(out));
      if (name === 'CreateTrainedModel' && deps.afterCreateTrainedModel) {
        await deps.afterCreateTrainedModel(out as { trainedModelArn: string; versionIdentifier?: string });
      }
      if (name === 'StartTrainedModelInferenceJob' && deps.afterStartInferenceJob) {
        await deps.afterStartInferenceJob(out as { trainedModelInferenceJobArn: string });
      }
    });
  }
}

function outputOption(): Option {
  return new Option('--output <format>', 'json (default), text, table or yaml').choices(OUTPUT_FORMATS);
}

function outputFormat(flag: string | undefined, fromEnv: string | undefined): OutputFormat {
  const format = flag ?? fromEnv ?? 'json';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`Expected AWS_DEFAULT_OUTPUT to be one of ${OUTPUT_FORMATS.join(', ')}, got '${format}'.`);
  }
  return format as OutputFormat;
}

/** `--query`: compiled before the call, so a bad expression is a usage error (the AWS CLI's wording). */
function compileQuery(expression: string | undefined): (value: unknown) => unknown {
  if (expression === undefined) return (v) => v;
  try {
    (jmespath() as unknown as { compile(e: string): unknown }).compile(expression);
  } catch (e) {
    throw new UsageError(`Bad value for --query ${expression}: ${(e as Error).message}`);
  }
  return (value) => {
    try {
      return jmespath().search(value, expression) as unknown;
    } catch (e) {
      throw new UsageError(`Bad value for --query ${expression}: ${(e as Error).message}`);
    }
  };
}

function count(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new UsageError(`argument ${flag}: invalid int value: '${raw}'`);
  return Number(raw);
}

function refuseWithoutPagination(opts: Record<string, unknown>): void {
  const used = (['startingToken', 'pageSize', 'maxItems'] as const).filter((k) => opts[k] !== undefined).map(kebabName).map((k) => `--${k}`);
  if (used.length > 0) throw new UsageError(`Cannot specify --no-paginate along with pagination arguments: ${used.join(', ')}`);
}

function buildInput(
  op: OperationName,
  members: [string, { shape: string }][],
  opts: Record<string, string | undefined>,
  defaultMembershipId: string,
): Record<string, unknown> {
  const request = cliInput(opts);
  for (const [member, ref] of members) {
    const raw = opts[optionKey(member)];
    if (raw === undefined) continue;
    request[member] = parseValue(`--${kebabName(member)}`, shapes[ref.shape], readArg(raw));
  }
  if (members.some(([m]) => m === 'membershipIdentifier') && request.membershipIdentifier === undefined) {
    request.membershipIdentifier = defaultMembershipId;
  }
  if (op === 'CreateMLInputChannel' && opts.localPath) {
    const channel = (request.inputChannel ?? {}) as { dataSource?: Record<string, unknown>; roleArn?: string };
    request.inputChannel = {
      ...channel,
      roleArn: channel.roleArn ?? 'arn:aws:iam::123456789012:role/cleanrooms-ml-local',
      dataSource: { ...(channel.dataSource ?? {}), localDataSource: { path: opts.localPath } },
    };
  }
  return request;
}

/** `--cli-input-json` or `--cli-input-yaml` (one of them): the members the flags do not give. */
function cliInput(opts: Record<string, string | undefined>): Record<string, unknown> {
  if (opts.cliInputJson !== undefined && opts.cliInputYaml !== undefined) throw new UsageError('Only one --cli-input- parameter may be specified.');
  let loaded: unknown = {};
  if (opts.cliInputJson !== undefined) {
    try {
      loaded = JSON.parse(readArg(opts.cliInputJson));
    } catch {
      throw new UsageError('Error parsing parameter \'cli-input-json\': Invalid JSON received.');
    }
  } else if (opts.cliInputYaml !== undefined) {
    try {
      loaded = yaml().parse(readArg(opts.cliInputYaml)) as unknown;
    } catch {
      throw new UsageError('Error parsing parameter \'cli-input-yaml\': Invalid YAML received.');
    }
  }
  if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) {
    const flag = opts.cliInputJson !== undefined ? '--cli-input-json' : '--cli-input-yaml';
    throw new UsageError(`Error parsing parameter '${flag}': Invalid type: expecting map, received ${Array.isArray(loaded) ? 'list' : typeof loaded}`);
  }
  return { ...(loaded as Record<string, unknown>) };
}

/** commander's camel-casing of `--volume-size-in-gb` etc. */
function optionKey(member: string): string {
  return kebabName(member).replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function readArg(raw: string): string {
  return raw.startsWith('file://') ? readFileSync(raw.slice('file://'.length), 'utf8') : raw;
}

function parseJson(flag: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${flag}: not valid JSON (${(e as Error).message})`);
  }
}

function parseValue(flag: string, shape: ShapeMeta | undefined, raw: string): unknown {
  switch (shape?.type) {
    case 'structure':
    case 'list':
    case 'map':
      return parseJson(flag, raw);
    case 'integer':
    case 'long':
    case 'double':
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n)) throw new UsageError(`${flag}: expected a number, got '${raw}'`);
      return n;
    }
    case 'boolean':
      return raw === 'true';
    default:
      return raw;
  }
}
