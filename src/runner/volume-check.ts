import type { ContainerEngine } from './container-engine.js';

const GiB = 1024 ** 3;

/**
 * What a run wrote past resourceConfig.volumeSizeInGB, as the message that fails it; undefined while within.
 * volumeSizeInGB is per instance, as each real instance has its own volume. The same words whether the run
 * was caught while it wrote or only once its containers had exited (a job that fills its volume and exits at
 * once ends before any live check).
 */
export async function volumeOverage(
  engine: ContainerEngine,
  members: readonly { containerId: string; host: string }[],
  volumeSizeInGB: number,
): Promise<string | undefined> {
  return writtenOverage(members, (m) => engine.writtenBytes(m.containerId), volumeSizeInGB);
}

/** The same rule and words, for members whose written bytes are measured another way (a Swarm task and its node volume). */
export async function writtenOverage<M extends { host: string }>(
  members: readonly M[],
  writtenBytes: (member: M) => Promise<number>,
  volumeSizeInGB: number,
): Promise<string | undefined> {
  const limit = volumeSizeInGB * GiB;
  for (const m of members) {
    const bytes = await writtenBytes(m);
    if (bytes > limit) {
      const where = members.length > 1 ? ` on ${m.host}` : '';
      return `The job wrote ${(bytes / GiB).toFixed(2)} GB to its volume${where}, more than resourceConfig.volumeSizeInGB (${volumeSizeInGB} GB).`;
    }
  }
  return undefined;
}
