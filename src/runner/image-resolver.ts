import type { Logger } from 'pino';
import { parseImageUri, type ImageReference } from '../api/image-uri.js';
import type { ContainerEngine, PullProgress, RegistryAuth } from './engine/container-engine.js';
import { engineMessage } from './engine/dockerode-engine.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface RegistryAuthProvider {
  getAuth(registryHost: string): Promise<RegistryAuth | undefined>;
}

export interface ResolvedImage {
  /** What containers are created from: the image id, so a tag moving meanwhile changes nothing. */
  imageId: string;
  /** trainingContainerImageDigest: the repository digest that ran, or the image id for a local-only image. */
  digest: string;
  pulled: boolean;
}

export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
}

/** The reference as the engine names it: a digest pins, a missing tag means latest. */
function engineReference(ref: ImageReference): string {
  const repo = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  if (ref.digest) return `${repo}@${ref.digest}`;
  return `${repo}:${ref.tag ?? 'latest'}`;
}

/** Docker Hub's implicit names: `algo` is `docker.io/library/algo`. */
function canonicalRepository(ref: ImageReference): string {
  if (ref.registry) return `${ref.registry}/${ref.repository}`;
  return ref.repository.includes('/') ? `docker.io/${ref.repository}` : `docker.io/library/${ref.repository}`;
}

function canonicalOfRepoDigest(repoDigest: string): string {
  const repo = repoDigest.slice(0, repoDigest.indexOf('@'));
  const parsed = parseImageUri(repo);
  return parsed ? canonicalRepository(parsed) : repo;
}

export class ImageResolver {
  constructor(
    private readonly deps: {
      engine: ContainerEngine;
      policy: PullPolicy;
      auth?: RegistryAuthProvider;
      logger: Logger;
    },
  ) {}

  async resolve(imageUri: string, onProgress?: (p: PullProgress) => void): Promise<ResolvedImage> {
    const ref = parseImageUri(imageUri);
    if (!ref) throw new ImagePullError(`'${imageUri}' is not a valid image reference.`);
    const reference = engineReference(ref);
    const { engine, policy } = this.deps;
    let image = policy === 'always' ? undefined : await engine.inspectImage(reference);
    let pulled = false;
    if (!image) {
      if (policy === 'never') {
        throw new ImagePullError(`Image ${reference} is not on the engine and the pull policy is 'never'.`);
      }
      const auth = ref.registry ? await this.deps.auth?.getAuth(ref.registry) : undefined;
      this.deps.logger.info({ image: reference, registry: ref.registry ?? 'docker.io' }, 'pulling image');
      try {
        await engine.pullImage(reference, { auth, onProgress });
      } catch (e) {
        throw new ImagePullError(`Could not pull ${reference}: ${engineMessage(e)}`);
      }
      pulled = true;
      image = await engine.inspectImage(reference);
      if (!image) throw new ImagePullError(`Image ${reference} was pulled but the engine does not know it.`);
    }
    const repo = canonicalRepository(ref);
    const repoDigest = image.repoDigests.find((d) => canonicalOfRepoDigest(d) === repo);
    const digest = repoDigest ? repoDigest.slice(repoDigest.indexOf('@') + 1) : image.id;
    if (ref.digest && digest !== ref.digest) {
      throw new ImagePullError(`Image ${reference} resolved to ${digest}, not the digest that was asked for.`);
    }
    return { imageId: image.id, digest, pulled };
  }
}
