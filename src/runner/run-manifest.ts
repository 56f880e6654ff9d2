import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppliedLimits } from './resource-limits.js';
import type { RunResult, TrainingJobSpec } from './types.js';

export const MANIFEST_FILE = 'manifest.json';

/** Enough to reproduce or compare a run: what ran, on what data, with which limits, and how it ended. */
export async function writeRunManifest(
  spec: TrainingJobSpec,
  result: RunResult,
  extra: { limits?: AppliedLimits; channelHashes?: Record<string, string>; imageId?: string; containerIds?: string[] },
): Promise<string> {
  const manifest = {
    trainedModelArn: spec.trainedModelArn,
    image: { uri: spec.imageUri, digest: result.imageDigest, id: extra.imageId },
    request: spec,
    limits: extra.limits,
    channels: spec.channels.map((c) => ({ channelName: c.channelName, sha256: extra.channelHashes?.[c.channelName] })),
    containerIds: extra.containerIds,
    startedAt: result.startedAt.toISOString(),
    endedAt: result.endedAt.toISOString(),
    durationMs: result.durationMs,
    exitCode: result.exitCode,
    succeeded: result.succeeded,
    statusCode: result.statusCode,
    message: result.message,
    artifacts: { model: result.modelArtifactPath, output: result.outputArtifactPath },
  };
  const path = join(spec.artifactsDir, MANIFEST_FILE);
  await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}
