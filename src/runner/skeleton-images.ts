import type { Logger } from 'pino';
import type { ContainerEngine, ImageInfo } from './container-engine.js';
import { optMlSkeleton, OPT_ML_ROOT } from './opt-ml-skeleton.js';
import { ARTIFACT_FOLDERS } from './artifact-names.js';

/**
 * Training images with the /opt/ml skeleton (its folders, writable where the job writes) already in a layer of
 * their own: a run from one gets its config files through a read-only bind mount and needs no archive call
 * before it starts. On Docker Engine up to 24 every archive call runs a process of the engine's own (about a
 * tenth of a second here, a fifth of a no-op run); the writable areas still live in the container, never in a
 * host folder. One skeleton image per training image id, tagged `crml-skeleton:<that id's hex>`: it shares
 * every layer of the training image and adds a few empty folders. It is made in the background the first time
 * an image trains (that run lays out /opt/ml the usual way), so a freshly built image pays nothing; skeleton
 * images of training images that lost their last tag are removed when the next one is made.
 */

export const SKELETON_REPOSITORY = 'crml-skeleton';
/** On every skeleton image: the id of the training image it extends. */
export const LABEL_SKELETON_OF = 'crml.skeleton-of';
/** The layout's version: a skeleton image of another version is made again. */
const LABEL_SKELETON_VERSION = 'crml.skeleton-version';
const SKELETON_VERSION = '3';
/**
 * The artifact folders that hold nothing in the skeleton image, each with its modification time there as the
 * engine's stat reports it ('' where the engine has no stat): a JSON object. See EmptyInImage.
 */
const LABEL_SKELETON_EMPTY = 'crml.skeleton-empty';
/** On the short-lived container a skeleton image is committed from, so one a killed process left is found. */
const LABEL_SKELETON_BUILDER = 'crml.skeleton-builder';

/**
 * An artifact folder that holds nothing in the image a container started from, with its modification time there
 * when known: a folder whose time has not moved still holds nothing, since adding or removing an entry always
 * sets it (only a job that puts the exact time back by hand could hide its own entries from packaging).
 */
export interface EmptyInImage {
  path: string;
  mtime?: string;
}

export interface SkeletonImage {
  imageId: string;
  /** Artifact folders that are empty in the image: a run that changed nothing under one left it empty. */
  emptyFolders: EmptyInImage[];
}

/** The label's folders; anything that is not an artifact folder with a time or '' (an edited label) is left out. */
function parseEmptyFolders(label: string | undefined): EmptyInImage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(label ?? '{}');
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  return Object.entries(parsed).flatMap(([path, mtime]) =>
    (ARTIFACT_FOLDERS as readonly string[]).includes(path) && typeof mtime === 'string' ? [{ path, ...(mtime ? { mtime } : {}) }] : [],
  );
}

/** The tag (within SKELETON_REPOSITORY) of `imageId`'s skeleton image: the id's hex. */
function skeletonTagName(imageId: string): string {
  return imageId.replace(/^sha256:/, '');
}

/** The reference of `imageId`'s skeleton image. */
export function skeletonTag(imageId: string): string {
  return `${SKELETON_REPOSITORY}:${skeletonTagName(imageId)}`;
}

/**
 * Whether `candidate` is `base`'s skeleton image of this version: its labels say so and its layers are the
 * base's plus exactly one. The layer check is what matters: a run never starts from an image that is not the
 * training image it asked for with folders added.
 */
export function isSkeletonOf(candidate: ImageInfo, base: ImageInfo): boolean {
  const labels = candidate.labels ?? {};
  const layers = candidate.layers ?? [];
  const baseLayers = base.layers ?? [];
  return (
    labels[LABEL_SKELETON_OF] === base.id &&
    labels[LABEL_SKELETON_VERSION] === SKELETON_VERSION &&
    baseLayers.length > 0 &&
    layers.length === baseLayers.length + 1 &&
    baseLayers.every((l, i) => layers[i] === l)
  );
}

/** An image that declares a volume at, above or under /opt/ml: its skeleton would not be in the layer, so none is made. */
function volumesCover(image: ImageInfo): boolean {
  return (image.volumes ?? []).some((v) => {
    let path = v;
    while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return path === '/' || OPT_ML_ROOT.startsWith(`${path}/`) || path === OPT_ML_ROOT || path.startsWith(`${OPT_ML_ROOT}/`);
  });
}

export class SkeletonImages {
  /** Skeleton images being made, by training image id (one at a time each). */
  private readonly making = new Map<string, Promise<void>>();
  /** Training images this process could not make one for: not tried again. */
  private readonly failed = new Set<string>();
  /** Builder containers of this process that exist now. */
  private readonly builders = new Set<string>();

  constructor(
    private readonly engine: ContainerEngine,
    private readonly log: Logger,
  ) {}

  /** Whether runs on this engine can use skeleton images at all (config files are bind-mounted from here). */
  get usable(): boolean {
    return this.engine.sharesHostFilesystem && this.engine.commitContainer !== undefined;
  }

  /**
   * `image`'s skeleton image when it exists; otherwise undefined, and one is made in the background for the
   * runs that follow. Never fails a run: an engine error here only means this run lays out /opt/ml itself.
   */
  async find(image: ImageInfo): Promise<SkeletonImage | undefined> {
    if (!this.usable || volumesCover(image) || (image.layers ?? []).length === 0) return undefined;
    try {
      const candidate = await this.engine.inspectImage(skeletonTag(image.id));
      if (candidate && isSkeletonOf(candidate, image)) {
        return { imageId: candidate.id, emptyFolders: parseEmptyFolders(candidate.labels?.[LABEL_SKELETON_EMPTY]) };
      }
    } catch (e) {
      this.log.debug({ err: e, imageId: image.id }, 'could not look for a skeleton image');
      return undefined;
    }
    this.makeInBackground(image);
    return undefined;
  }

  /** Waits for the skeleton images being made (a process about to exit leaves no builder container behind). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.making.values()]);
  }

  private makeInBackground(image: ImageInfo): void {
    if (this.making.has(image.id) || this.failed.has(image.id)) return;
    const made = this.make(image)
      .catch((e: unknown) => {
        this.failed.add(image.id);
        this.log.warn({ err: e, imageId: image.id }, 'could not make a skeleton image: runs of this image lay out /opt/ml themselves');
      })
      .finally(() => this.making.delete(image.id));
    this.making.set(image.id, made);
  }

  /** Builder container (never started) → the skeleton put in → committed with labels → builder removed → old ones pruned. */
  private async make(image: ImageInfo): Promise<void> {
    const { engine } = this;
    const t0 = performance.now();
    const builder = await engine.createContainer({
      image: image.id,
      // No entrypoint, command or environment of ours: the commit keeps the image's config as it is. Never started.
      hostname: '',
      cmd: [],
      env: {},
      labels: { [LABEL_SKELETON_BUILDER]: 'true' },
      binds: [],
      networkMode: 'none',
      nanoCpus: 0,
      memoryBytes: 0,
      shmSizeBytes: 0,
      pidsLimit: 0,
      capDrop: ['ALL'],
      capAdd: [],
      securityOpt: ['no-new-privileges'],
      gpus: 0,
    });
    this.builders.add(builder);
    try {
      await engine.putArchive(builder, '/', optMlSkeleton({}));
      // A folder the training image already had content in is not empty in the skeleton image.
      const changes = await engine.changes(builder);
      const empty = ARTIFACT_FOLDERS.filter((f) => changes.some((c) => c.path === f && c.kind === 'added'));
      // Their times as a container of the committed image shows them (the commit keeps them): see EmptyInImage.
      const times: Record<string, string> = {};
      for (const f of empty) times[f] = (await engine.pathModified?.(builder, f)) ?? '';
      const id = await engine.commitContainer!(builder, {
        repository: SKELETON_REPOSITORY,
        tag: skeletonTagName(image.id),
        labels: {
          // Blanked: the builder's label would otherwise pass to every container made from the image.
          [LABEL_SKELETON_BUILDER]: '',
          [LABEL_SKELETON_OF]: image.id,
          [LABEL_SKELETON_VERSION]: SKELETON_VERSION,
          [LABEL_SKELETON_EMPTY]: JSON.stringify(times),
        },
      });
      this.log.info({ imageId: image.id, skeletonImageId: id, ms: Math.round(performance.now() - t0) }, 'skeleton image made');
    } finally {
      await engine.removeContainer(builder).catch((e: unknown) => this.log.warn({ err: e, containerId: builder }, 'could not remove a skeleton builder'));
      this.builders.delete(builder);
    }
    await this.prune();
  }

  /**
   * Removes builder containers a killed process left, and skeleton images no run can start from any more: their
   * training image is gone or lost its last tag (rebuilt), or their own tag moved to a newer one. One still in
   * use by a container stays (the engine refuses).
   */
  async prune(): Promise<void> {
    const { engine } = this;
    for (const c of await engine.listContainers(`${LABEL_SKELETON_BUILDER}=true`)) {
      if (!this.builders.has(c.id) && !c.running) await engine.removeContainer(c.id).catch(() => undefined);
    }
    if (!engine.listImages || !engine.removeImage) return;
    for (const skeleton of await engine.listImages(LABEL_SKELETON_OF)) {
      const base = skeleton.labels[LABEL_SKELETON_OF];
      const baseInfo = base ? await engine.inspectImage(base).catch(() => undefined) : undefined;
      const current = skeleton.repoTags.length > 0 && skeleton.labels[LABEL_SKELETON_VERSION] === SKELETON_VERSION;
      if (current && baseInfo && baseInfo.repoTags.length > 0) continue;
      await engine.removeImage(skeleton.id).catch((e: unknown) => this.log.debug({ err: e, imageId: skeleton.id }, 'skeleton image kept (in use)'));
    }
  }
}
