import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MANIFEST_FILE } from '../runner/run-manifest.js';

/**
 * What a report reads of a run's manifest.json (src/runner/run-manifest.ts writes it). Every member is optional:
 * an older or partial manifest still gives what it has. The request's environment values are not read at all:
 * they may be secrets, and a report shows names only.
 */
export const RunManifestFile = z.object({
  image: z.object({ uri: z.string().optional(), digest: z.string().optional(), id: z.string().optional() }).partial().optional(),
  request: z
    .object({
      instanceType: z.string(),
      instanceCount: z.number(),
      volumeSizeInGB: z.number(),
      maxRuntimeInSeconds: z.number(),
      trainingInputMode: z.string(),
      hyperparameters: z.record(z.string(), z.string()),
      environment: z.record(z.string(), z.unknown()).transform((env) => Object.keys(env)),
    })
    .partial()
    .optional(),
  limits: z
    .object({
      instanceType: z.string(),
      requested: z.object({ vcpus: z.number(), memoryBytes: z.number(), gpus: z.number() }),
      vcpus: z.number(),
      memoryBytes: z.number(),
      gpus: z.number(),
      shmSizeBytes: z.number(),
      scaledDown: z.string().optional(),
    })
    .optional()
    .catch(undefined),
  channels: z.array(z.object({ channelName: z.string(), sha256: z.string().optional() })).optional().catch(undefined),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationMs: z.number().optional(),
  exitCode: z.number().nullable().optional(),
  succeeded: z.boolean().optional(),
  statusCode: z.string().optional(),
  message: z.string().optional(),
  artifacts: z.object({ model: z.string().optional(), output: z.string().optional() }).partial().optional(),
});
export type RunManifestFile = z.infer<typeof RunManifestFile>;

/** A manifest larger than this is not one the runner wrote. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * The manifest in a run's artifacts folder, or undefined while the run has none (still running, or it failed
 * before writing one). Never through a link: the folder is ours, a link in it is not.
 */
export async function readRunManifestFile(artifactsDir: string): Promise<{ path: string; manifest: RunManifestFile } | undefined> {
  const path = join(artifactsDir, MANIFEST_FILE);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_MANIFEST_BYTES) return undefined;
    const parsed = RunManifestFile.safeParse(JSON.parse(await handle.readFile('utf8')));
    return parsed.success ? { path, manifest: parsed.data } : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
