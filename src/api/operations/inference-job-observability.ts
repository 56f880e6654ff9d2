import { AccessDeniedException } from '../generated/errors.js';
import { assertMembership, type ServiceContext } from '../service-context.js';
import { logViewFor } from '../../privacy/index.js';
import { UNFINISHED_INFERENCE_STATUSES } from '../inference-job-coordinator.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { getInferenceJobRecord } from './inference-jobs.js';
import type { TrainedModelLogLine } from './trained-model-observability.js';

export interface InferenceJobLogsInput {
  membershipIdentifier: string;
  trainedModelInferenceJobArn: string;
  /** Read as this account (default: the owner, this local account). */
  asAccountId?: string;
  /** Keep reading until the job ends. */
  follow?: boolean;
  pollIntervalMs?: number;
}

/**
 * An inference job's container logs, as for a trained model: the owner reads everything, another account what
 * the association's privacyConfiguration.policies.trainedModelInferenceJobs.containerLogs lets it see.
 */
export async function* inferenceJobLogs(ctx: ServiceContext, input: InferenceJobLogsInput): AsyncGenerator<TrainedModelLogLine> {
  assertMembership(ctx, input.membershipIdentifier);
  const arn = input.trainedModelInferenceJobArn;
  const job = getInferenceJobRecord(ctx, input.membershipIdentifier, arn);
  const owner = input.asAccountId === undefined || input.asAccountId === ctx.settings.accountId;
  let policy;
  try {
    policy = getAssociationRecord(ctx, job.membershipIdentifier, job.configuredModelAlgorithmAssociationArn!).privacyConfiguration?.policies
      ?.trainedModelInferenceJobs?.containerLogs;
  } catch {
    policy = undefined;
  }
  const view = owner ? undefined : logViewFor(policy, input.asAccountId!);
  if (!owner && !view) throw new AccessDeniedException(`Account ${input.asAccountId} is not allowed to see the logs of inference job ${arn}.`);
  let after = 0;
  for (;;) {
    const page = ctx.store.readLogLines(arn, '', after, 1000);
    for (const l of page) {
      after = l.seq;
      const text = view ? view.apply(l) : l.text;
      if (text !== undefined) yield { time: new Date(l.time), stream: l.stream, host: l.host, text };
    }
    if (page.length > 0) continue;
    const current = ctx.inference.get(arn);
    if (!input.follow || !current || !UNFINISHED_INFERENCE_STATUSES.includes(current.status)) {
      const failure = view && current?.statusDetails?.message ? view.applyFailureMessage(current.statusDetails.message) : undefined;
      if (failure !== undefined) yield { time: new Date(), stream: 'stderr', host: 'algo-1', text: failure };
      return;
    }
    await ctx.store.nextWrite(input.pollIntervalMs ?? 250);
  }
}
