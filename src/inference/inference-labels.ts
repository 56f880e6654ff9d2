import { createHash } from 'node:crypto';

/**
 * The labels of an inference job's containers and network. Their own keys, not training's: training's
 * reconciliation removes every container of its store label that names no trained model, and would take a
 * running inference job's containers for strays.
 */
export const LABEL_INFERENCE_STORE = 'crml.inference-store';
export const LABEL_INFERENCE_JOB = 'crml.inference-job';
export const LABEL_INFERENCE_HOST = 'crml.inference-host';

export function inferenceStoreLabels(storeId: string): Record<string, string> {
  return { [LABEL_INFERENCE_STORE]: storeId };
}

/** A short, stable digest of the job's ARN: its network's and bridge's names. */
function jobDigest(arn: string): string {
  return createHash('sha256').update(arn).digest('hex');
}

/** The job's own network, found again from its ARN alone (reconciliation). */
export function inferenceNetworkName(arn: string): string {
  return `crml-inference-${jobDigest(arn).slice(0, 20)}`;
}

/** The network's Linux bridge on the host (at most 15 characters): what the firewall rule names. */
export function inferenceBridgeName(arn: string): string {
  return `crmli${jobDigest(arn).slice(0, 10)}`;
}
