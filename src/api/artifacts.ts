import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanRoomsMLLocal } from './service.js';
import { ARTIFACT_FILES } from './trained-model-records.js';
import { ResourceNotFoundException } from './generated/errors.js';
import { INFERENCE_JOB_KIND, type InferenceJobRecord } from './inference-job-coordinator.js';

/**
 * The artifact files a trained model left on this machine (model.tar.gz, output.tar.gz, manifest.json), or an
 * inference job's output.tar.gz when `trainedModel` names an inference job (its ARN, id or name).
 */
export async function trainedModelArtifacts(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { membershipIdentifier?: string; versionIdentifier?: string } = {},
): Promise<string[]> {
  const job = inferenceJobArn(service, trainedModel);
  if (job) {
    const r = service.store.get<InferenceJobRecord>(INFERENCE_JOB_KIND, job);
    if (!r || (opts.membershipIdentifier && r.membershipId !== opts.membershipIdentifier)) {
      throw new ResourceNotFoundException(`Trained model inference job ${trainedModel} not found.`);
    }
    const path = r.body.run.outputArtifactPath;
    return path && existsSync(path) ? [path] : [];
  }
  const arn = resolveTrainedModelArn(service, trainedModel);
  // Without a version identifier: the latest version's, as GetTrainedModel answers.
  const r = service.trainedModels.version(arn, opts.versionIdentifier);
  if (!r || (opts.membershipIdentifier && r.membershipId !== opts.membershipIdentifier)) {
    throw new ResourceNotFoundException(`Trained model ${trainedModel} not found.`);
  }
  const dir = r.body.run?.artifactsDir;
  if (!dir) return [];
  return ARTIFACT_FILES.map((f) => join(dir, f)).filter((f) => existsSync(f));
}

/** An inference job's ARN when `name` is one, or the id or name of one (and of no trained model). */
export function inferenceJobArn(service: CleanRoomsMLLocal, name: string): string | undefined {
  if (name.startsWith('arn:')) return name.includes(':trained-model-inference-job/') || name.includes('/trained-model-inference-job/') ? name : undefined;
  if (service.trainedModels.arnByIdOrName(name)) return undefined;
  return service.store.arnByIdOrName(INFERENCE_JOB_KIND, name);
}

/** Accepts a full ARN, or a trained model's id or name (the newest with that name) for convenience. */
export function resolveTrainedModelArn(service: CleanRoomsMLLocal, trainedModel: string): string {
  if (trainedModel.startsWith('arn:')) return trainedModel;
  const arn = service.trainedModels.arnByIdOrName(trainedModel);
  if (!arn) throw new ResourceNotFoundException(`Trained model ${trainedModel} not found.`);
  return arn;
}
