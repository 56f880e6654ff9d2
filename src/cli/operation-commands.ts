import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { operations, shapes, type OperationName, type ShapeMeta } from '../api/generated/model.js';
import type { CleanRoomsMLLocal } from '../api/service.js';
import { kebabName, lowerCamel } from './names.js';
import { UsageError } from './errors.js';
import { formatAwsJson } from './aws-json.js';

/**
 * One CLI command per operation, derived from the service model the way the AWS CLI derives its own:
 * `crml get-trained-model --membership-identifier … --trained-model-arn …`. Scalars are given as is,
 * structures, lists and maps as JSON; `--cli-input-json` takes the whole input.
 */

export interface OperationCommandDeps {
  service: () => CleanRoomsMLLocal;
  /** Resolves when the stream can take more (backpressure). */
  print: (text: string) => void | Promise<void>;
  /** Runs after an operation that started a training run (the CLI keeps the run alive): the version it makes. */
  afterCreateTrainedModel?: (run: { trainedModelArn: string; versionIdentifier?: string }) => Promise<void>;
}

export function addOperationCommands(program: Command, deps: OperationCommandDeps): void {
  for (const name of Object.keys(operations) as OperationName[]) {
    const op = operations[name];
    const input = op.input ? (shapes[op.input] as Extract<ShapeMeta, { type: 'structure' }>) : undefined;
    const cmd = program.command(kebabName(name)).description(`Calls ${name}, as \`aws cleanroomsml ${kebabName(name)}\` would.`);
    const members = input ? Object.entries(input.members) : [];
    for (const [member, ref] of members) {
      const type = shapes[ref.shape]?.type ?? 'string';
      const flag = `--${kebabName(member)} <${type === 'structure' || type === 'list' || type === 'map' ? 'json' : 'value'}>`;
      cmd.option(flag, `${member}${input?.required.includes(member) ? ' (required)' : ''}`);
    }
    cmd.option('--cli-input-json <json>', 'the whole input as JSON (or file://path)');
    if (name === 'CreateMLInputChannel') {
      cmd.option('--local-path <dir>', 'cleanrooms-ml-local: a folder whose files become the channel (localDataSource)');
    }
    cmd.action(async (opts: Record<string, string | undefined>) => {
      const service = deps.service();
      const request = buildInput(name, members, opts, service.settings.defaultMembershipId);
      const method = lowerCamel(name) as keyof CleanRoomsMLLocal;
      const fn = service[method] as unknown as (i: unknown) => Promise<unknown>;
      const out = await fn.call(service, request);
      if (out && Object.keys(out).length > 0) await deps.print(formatAwsJson(out));
      if (name === 'CreateTrainedModel' && deps.afterCreateTrainedModel) {
        await deps.afterCreateTrainedModel(out as { trainedModelArn: string; versionIdentifier?: string });
      }
    });
  }
}

function buildInput(
  op: OperationName,
  members: [string, { shape: string }][],
  opts: Record<string, string | undefined>,
  defaultMembershipId: string,
): Record<string, unknown> {
  const request: Record<string, unknown> = opts.cliInputJson ? (parseJson('--cli-input-json', readArg(opts.cliInputJson)) as Record<string, unknown>) : {};
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
