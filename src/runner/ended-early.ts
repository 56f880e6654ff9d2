import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ChannelMountError } from '../channels/channel-mounts.js';
import type { ContainerEngine } from './container-engine.js';
import type { ResolvedImage } from './image-resolver.js';
import type { AppliedLimits } from './resource-limits.js';
import { writeRunManifest } from './run-manifest.js';
import { runCancelled, runFailed } from './run-outcome.js';
import { runnerFailure } from './runner-failure.js';
import type { RunResult, RunStatusCode, TrainingJobSpec } from './types.js';

/** A run that ends before its containers (or tasks) ran, with its status code: control flow inside a runner only. */
export class EndedEarly extends Error {
  override readonly name = 'EndedEarly';
  constructor(
    readonly statusCode: RunStatusCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const CANCELLED_BEFORE_START = 'The trained model was cancelled before it started.';

/** Writes the run's manifest; a manifest that cannot be written is logged, never the run's failure. */
export async function writeRunManifestLogged(spec: TrainingJobSpec, result: RunResult, extra: Parameters<typeof writeRunManifest>[2], log: Logger): Promise<void> {
  try {
    await mkdir(spec.artifactsDir, { recursive: true });
    await writeRunManifest(spec, result, extra);
  } catch (e) {
    log.warn({ err: e }, 'could not write the run manifest');
  }
}

/**
 * The result of a run that ended before anything of it ran, or failed on the runner's side (`engine` names where:
 * the engine or the swarm), with its manifest. `ran` says what did not run, for the log.
 */
export async function endRunEarly(
  run: { spec: TrainingJobSpec; log: Logger; startedAt: Date; limits?: AppliedLimits; image?: ResolvedImage },
  e: unknown,
  engine: Pick<ContainerEngine, 'endpoint'>,
  ran: string,
): Promise<RunResult> {
  const { spec, log, limits, image } = run;
  let failure: EndedEarly;
  if (e instanceof EndedEarly) failure = e;
  else if (e instanceof ChannelMountError) failure = new EndedEarly('INTERNAL_ERROR', e.message, { cause: e });
  else {
    log.error({ err: e }, 'run failed on the runner side');
    failure = new EndedEarly('INTERNAL_ERROR', runnerFailure(engine, e as Error), { cause: e });
  }
  const { statusCode, message, cause } = failure;
  const details = { imageDigest: image?.digest, limits, cause };
  const result = statusCode === 'CANCELLED' ? runCancelled(run.startedAt, message, details) : runFailed(run.startedAt, statusCode, message, details);
  log.info({ statusCode, message }, `run ended before its ${ran} ran`);
  await writeRunManifestLogged(spec, result, { limits, imageId: image?.imageId }, log);
  return result;
}
