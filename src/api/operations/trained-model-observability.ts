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

export async function* trainedModelLogs(ctx: ServiceContext, input: TrainedModelLogsInput): AsyncGenerator<TrainedModelLogLine> {
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
    const page = ctx.store.readLogLines(input.trainedModelArn, versionId, after, 1000);
    for (const l of page) {
      after = l.seq;
      if (input.host && l.host !== input.host) continue;
      const text = view ? view.apply(l) : l.text;
      if (text !== undefined) yield { time: new Date(l.time), stream: l.stream, host: l.host, text };
    }
    if (page.length > 0) continue;
    const status = ctx.trainedModels.get(input.trainedModelArn, versionId)?.body;
    if (!input.follow || !status || isTerminal(status.status)) {
      // The failure message is part of what another account's error summary shows.
      const failure = view && status?.statusDetails?.message ? view.applyFailureMessage(status.statusDetails.message) : undefined;
      if (failure !== undefined) yield { time: new Date(), stream: 'stderr', host: input.host ?? 'algo-1', text: failure };
      return;
    }
    await new Promise((r) => setTimeout(r, input.pollIntervalMs ?? 250));
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
