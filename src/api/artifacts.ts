import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanRoomsMLLocal } from './service.js';
import { ARTIFACT_FILES } from './trained-model-records.js';
import { ResourceNotFoundException } from './generated/errors.js';

/** The artifact files a trained model left on this machine (model.tar.gz, output.tar.gz, manifest.json). */
export async function trainedModelArtifacts(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { membershipIdentifier?: string; versionIdentifier?: string } = {},
): Promise<string[]> {
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

/** Accepts a full ARN, or a trained model's id or name (the newest with that name) for convenience. */
export function resolveTrainedModelArn(service: CleanRoomsMLLocal, trainedModel: string): string {
  if (trainedModel.startsWith('arn:')) return trainedModel;
  const arn = service.trainedModels.arnByIdOrName(trainedModel);
  if (!arn) throw new ResourceNotFoundException(`Trained model ${trainedModel} not found.`);
  return arn;
}
