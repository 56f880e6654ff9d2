import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import { EngineError, type ContainerEngine, type ImageInfo, type PullProgress, type RegistryAuth } from './container-engine.js';
import {
  canonicalRepository,
  engineReference,
  ImageReferenceError,
  parseImageReference,
  repositoryOfRepoDigest,
  type ImageReference,
} from './image-reference.js';

export type PullPolicy = Settings['pullPolicy'];

/**
 * Where registry credentials come from (ECR, a local htpasswd registry, …): undefined pulls anonymously.
 * `registryHost` is the reference's host[:port], e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com`.
 */
export interface RegistryAuthProvider {
  getAuth(registryHost: string): Promise<RegistryAuth | undefined>;
}

export interface ResolvedImage {
  reference: ImageReference;
  /** What containers are created from: the image id, so a tag moving meanwhile changes nothing. */
  imageId: string;
  /** trainingContainerImageDigest: the repository digest of the image that runs, or its image id for a local-only image. */
  digest: string;
  pulled: boolean;
  /** What the engine said of it (layers, volumes, labels). */
  info: ImageInfo;
}

/** The image could not be had: the message is the engine's or the registry's own words. Maps to IMAGE_PULL_FAILED. */
export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
}

export interface ImageResolverOptions {
  engine: ContainerEngine;
  pullPolicy: PullPolicy;
  logger: Logger;
  registryAuth?: RegistryAuthProvider;
}

/** Finds or pulls the image a trained model names, after the pull policy, and says which digest runs. */
export class ImageResolver {
  constructor(private readonly opts: ImageResolverOptions) {}

  async resolve(imageUri: string, onProgress?: (p: PullProgress) => void): Promise<ResolvedImage> {
    let ref: ImageReference;
    try {
      ref = parseImageReference(imageUri);
    } catch (e) {
      if (e instanceof ImageReferenceError) throw new ImagePullError(e.message, { cause: e });
      throw e;
    }
    const reference = engineReference(ref);
    const { engine, pullPolicy, logger } = this.opts;
    let image = pullPolicy === 'always' ? undefined : await engine.inspectImage(reference);
    let pulled = false;
    if (!image) {
      if (pullPolicy === 'never') {
        throw new ImagePullError(`Image ${reference} is not on the engine (${engine.endpoint}) and the pull policy is 'never'.`);
      }
      let auth: RegistryAuth | undefined;
      try {
        auth = ref.registry ? await this.opts.registryAuth?.getAuth(ref.registry) : undefined;
      } catch (e) {
        // No credentials means no pull: the user sees why, as the pull's failure.
        throw new ImagePullError(`Could not get credentials for ${ref.registry}: ${(e as Error).message}`, { cause: e });
      }
      logger.info({ image: reference, registry: ref.registry ?? 'docker.io', withCredentials: Boolean(auth) }, 'pulling image');
      try {
        await engine.pullImage(reference, { auth, onProgress });
      } catch (e) {
        if (e instanceof EngineError) throw new ImagePullError(`Could not pull ${reference}: ${e.message}`, { cause: e });
        throw e;
      }
      pulled = true;
      image = await engine.inspectImage(reference);
      if (!image) throw new ImagePullError(`Image ${reference} was pulled but the engine does not know it.`);
    }
    const repository = canonicalRepository(ref);
    const repoDigest = image.repoDigests.find((d) => repositoryOfRepoDigest(d) === repository);
    const digest = repoDigest ? repoDigest.slice(repoDigest.indexOf('@') + 1) : image.id;
    if (ref.digest && digest !== ref.digest) {
      throw new ImagePullError(`Image ${reference} resolved to ${digest}, not the digest that was asked for.`);
    }
    logger.debug({ image: reference, imageId: image.id, digest, pulled }, 'image resolved');
    return { reference: ref, imageId: image.id, digest, pulled, info: image };
  }
}
