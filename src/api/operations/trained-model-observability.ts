import { AccessDeniedException } from '../generated/errors.js';
import { assertMembership, type ServiceContext } from '../service-context.js';
import { logViewFor, metricViewFor } from '../../privacy/index.js';
import { isTerminal } from '../trained-model-status.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { getTrainedModelRecord } from './trained-models.js';

/**
 * A trained model's logs and metrics, as Clean Rooms ML publishes them: the owner reads everything; another
 * account reads what the association's privacyConfiguration.policies.trainedModels lets it see.
 */
export interface TrainedModelLogsInput {
  membershipIdentifier: string;
  trainedModelArn: string;
  versionIdentifier?: string;
  /** Read as this account (default: the owner, this local account). */
  asAccountId?: string;
  /** Only this host's lines (algo-1, …). */
  host?: string;
  /** Keep reading until the run ends. */
  follow?: boolean;
  pollIntervalMs?: number;
}

export interface TrainedModelLogLine {
  time: Date;
  stream: 'stdout' | 'stderr';
  host: string;
  text: string;
}

export interface TrainedModelMetricPoint {
  name: string;
  value: number;
  time: Date;
  host: string;
}

function policiesOf(ctx: ServiceContext, model: { membershipIdentifier: string; configuredModelAlgorithmAssociationArn: string }) {
  try {
    return getAssociationRecord(ctx, model.membershipIdentifier, model.configuredModelAlgorithmAssociationArn).privacyConfiguration?.policies?.trainedModels;
  } catch {
    return undefined;
  }
}

/** Lines per page: about a megabyte of a typical log, so memory stays flat and the store is asked rarely. */
const PAGE_LINES = 8000;

/** A log line as a page carries it: the time as the store keeps it (ISO 8601), so printing needs no Date. */
export interface TrainedModelLogPageLine {
  time: string;
  stream: 'stdout' | 'stderr';
  host: string;
  text: string;
}

/**
 * A trained model's log lines a store page at a time (at most PAGE_LINES each), as that account sees them:
 * what a reader of millions of lines (`crml logs`) takes, at no cost per line beyond the line itself.
 */
export async function* trainedModelLogPages(ctx: ServiceContext, input: TrainedModelLogsInput): AsyncGenerator<TrainedModelLogPageLine[]> {
  assertMembership(ctx, input.membershipIdentifier);
  const model = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
  // Without a version identifier: the latest version's, as GetTrainedModel answers.
  const versionId = model.versionIdentifier ?? '';
  const owner = input.asAccountId === undefined || input.asAccountId === ctx.settings.accountId;
  const view = owner ? undefined : logViewFor(policiesOf(ctx, model)?.containerLogs, input.asAccountId!);
  if (!owner && !view) {
    throw new AccessDeniedException(`Account ${input.asAccountId} is not allowed to see the logs of trained model ${input.trainedModelArn}.`);
  }
  let after = 0;
  for (;;) {
    const page = ctx.store.readLogLines(input.trainedModelArn, versionId, after, PAGE_LINES);
    if (page.length > 0) {
      after = page[page.length - 1]!.seq;
      // The owner reading every host gets the store's lines as they are: nothing is copied per line.
      if (!view && !input.host) {
        yield page;
        continue;
      }
      const shown: TrainedModelLogPageLine[] = [];
      for (const l of page) {
        if (input.host && l.host !== input.host) continue;
        const text = view ? view.apply(l) : l.text;
        if (text !== undefined) shown.push({ time: l.time, stream: l.stream, host: l.host, text });
      }
      if (shown.length > 0) yield shown;
      continue;
    }
    const status = await endOrNextWrite(ctx, input, versionId);
    if (status !== 'more') {
      // The failure message is part of what another account's error summary shows.
      const failure = view && status?.statusDetails?.message ? view.applyFailureMessage(status.statusDetails.message) : undefined;
      if (failure !== undefined) yield [{ time: new Date().toISOString(), stream: 'stderr', host: input.host ?? 'algo-1', text: failure }];
      return;
    }
  }
}

/**
 * With every stored line read: the model's record when the reading ends (not following, or the run is over),
 * else 'more' once the store has been written again (or the poll interval has passed).
 */
async function endOrNextWrite(ctx: ServiceContext, input: TrainedModelLogsInput, versionId: string) {
  const status = ctx.trainedModels.get(input.trainedModelArn, versionId)?.body;
  if (!input.follow || !status || isTerminal(status.status)) return status;
  await ctx.store.nextWrite(input.pollIntervalMs ?? 250);
  return 'more' as const;
}

/**
 * The log as the bytes `crml logs` prints (`<time> <host> <stream> <text>\n` a line), a page at a time. The
 * owner reading every host gets them straight from the store's chunks (Store.readLogText); any other view is
 * trainedModelLogPages' lines, formatted.
 */
export async function* trainedModelLogText(ctx: ServiceContext, input: TrainedModelLogsInput): AsyncGenerator<Buffer> {
  const owner = input.asAccountId === undefined || input.asAccountId === ctx.settings.accountId;
  if (!owner || input.host !== undefined) {
    for await (const page of trainedModelLogPages(ctx, input)) yield Buffer.from(page.map((l) => `${l.time} ${l.host} ${l.stream} ${l.text}\n`).join(''));
    return;
  }
  assertMembership(ctx, input.membershipIdentifier);
  const model = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
  const versionId = model.versionIdentifier ?? '';
  let after = 0;
  for (;;) {
    const page = ctx.store.readLogText(input.trainedModelArn, versionId, after, PAGE_LINES);
    if (page.lines > 0) {
      after = page.last;
      yield page.bytes;
    } else if ((await endOrNextWrite(ctx, input, versionId)) !== 'more') return;
  }
}

/** A trained model's log lines, one at a time (see trainedModelLogPages). */
export async function* trainedModelLogs(ctx: ServiceContext, input: TrainedModelLogsInput): AsyncGenerator<TrainedModelLogLine> {
  for await (const page of trainedModelLogPages(ctx, input)) {
    for (const l of page) yield { time: new Date(l.time), stream: l.stream, host: l.host, text: l.text };
  }
}

export function trainedModelMetrics(
  ctx: ServiceContext,
  input: Omit<TrainedModelLogsInput, 'follow' | 'host' | 'pollIntervalMs'>,
): TrainedModelMetricPoint[] {
  assertMembership(ctx, input.membershipIdentifier);
  const model = getTrainedModelRecord(ctx, input.membershipIdentifier, input.trainedModelArn, input.versionIdentifier);
  // Without a version identifier: the latest version's, as GetTrainedModel answers.
  const versionId = model.versionIdentifier ?? '';
  const points = ctx.store.readMetricPoints(input.trainedModelArn, versionId).map((p) => ({ name: p.name, value: p.value, time: new Date(p.time), host: p.host }));
  if (input.asAccountId === undefined || input.asAccountId === ctx.settings.accountId) return points;
  const view = metricViewFor(policiesOf(ctx, model)?.containerMetrics, `${input.trainedModelArn}#${versionId}`);
  if (!view) throw new AccessDeniedException(`Account ${input.asAccountId} is not allowed to see the metrics of trained model ${input.trainedModelArn}.`);
  return view(points, { finished: isTerminal(model.status) });
}
