import type { Readable } from 'node:stream';

/**
 * The container engine as the runner needs it, in our own types: the runner's logic never sees dockerode,
 * so a Podman or remote engine, or a fake for edge cases, fits behind the same port. Every failure the
 * engine reports reaches callers as an EngineError carrying the engine's own message.
 */

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface ImageInfo {
  /** The image id (`sha256:…` of its config). */
  id: string;
  /** `repository@sha256:…` for every registry the image came from or went to; empty for a local build. */
  repoDigests: string[];
  repoTags: string[];
  /** The platform the image was built for (`linux`, `amd64`), when the engine says. */
  os?: string;
  architecture?: string;
  /** Its layers' diff ids, base first (RootFS.Layers): an image made from it carries these and more. */
  layers?: string[];
  /** The paths its config declares as volumes (VOLUME): each becomes an anonymous volume of every container. */
  volumes?: string[];
  labels?: Record<string, string>;
}

/** An image as the engine lists it. */
export interface ImageSummary {
  id: string;
  repoTags: string[];
  labels: Record<string, string>;
}

export interface PullProgress {
  id?: string;
  status: string;
  progress?: string;
}

/** What an image build needs besides its context: the tag it gets, and the Dockerfile's own inputs. */
export interface BuildImageOptions {
  tag: string;
  /** The Dockerfile's path inside the context (default `Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** Each line the builder prints (`Step 1/4 : FROM …`), without its newline. */
  onProgress?: (line: string) => void;
  /** Aborting it ends the build (the engine stops when the request goes). */
  signal?: AbortSignal;
}

export interface BindMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerCreateSpec {
  image: string;
  name?: string;
  hostname: string;
  /** Undefined keeps the image's own entrypoint. */
  entrypoint?: string[];
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  binds: BindMount[];
  /** 'none', 'bridge' or the name of a network made with createNetwork. */
  networkMode: string;
  /** DNS names other containers on a user network reach this one by. */
  networkAliases?: string[];
  nanoCpus: number;
  /** Memory limit; swap is always off (MemorySwap = Memory). */
  memoryBytes: number;
  shmSizeBytes: number;
  pidsLimit: number;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  /** GPUs to request from the engine (0: no device request at all). */
  gpus: number;
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  running: boolean;
}

export interface ContainerLogs {
  stdout: Readable;
  stderr: Readable;
  /** Settles when the engine ends the log stream (the container ended). */
  done: Promise<void>;
}

export interface NetworkCreateSpec {
  name: string;
  /** No route outside the network (multi-instance training reaches nothing else). */
  internal: boolean;
  labels: Record<string, string>;
  /** The driver's own options (Docker's bridge: com.docker.network.bridge.*); an engine may refuse unknown ones. */
  driverOptions?: Record<string, string>;
}

export type StopSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT';

export interface ContainerEngine {
  /** Where the engine is, for messages (unix:///var/run/docker.sock, tcp://…). */
  readonly endpoint: string;
  /** Whether bind mounts of this machine's folders are visible to the engine (false for a remote engine). */
  readonly sharesHostFilesystem: boolean;
  ping(): Promise<void>;
  /** Undefined when the engine has no image by that reference. */
  inspectImage(reference: string): Promise<ImageInfo | undefined>;
  /** Pulls; rejects with an EngineError in the registry's own words when the call or any progress line fails. */
  pullImage(reference: string, opts?: { auth?: RegistryAuth; onProgress?: (p: PullProgress) => void }): Promise<void>;
  /**
   * Builds an image from a tar stream of its context (read with backpressure) and tags it; rejects with an
   * EngineError in the builder's own words when the build fails (a failing RUN, a missing base image).
   */
  buildImage(context: Readable, opts: BuildImageOptions): Promise<void>;
  /** Returns the container id. */
  createContainer(spec: ContainerCreateSpec): Promise<string>;
  /** Extracts a tar stream at `path` inside the container (created or running). */
  putArchive(containerId: string, path: string, tar: Readable): Promise<void>;
  startContainer(containerId: string): Promise<void>;
  /** Follows stdout and stderr, demultiplexed, from the first byte until the container ends (replays the engine's log). */
  followLogs(containerId: string): Promise<ContainerLogs>;
  /**
   * Attaches to stdout and stderr of a created container before it starts: the raw stream, as `docker run`
   * reads it, about three times faster than following the engine's log file.
   */
  attachOutput(containerId: string): Promise<ContainerLogs>;
  /** Resolves with the exit code once the container has ended. */
  waitContainer(containerId: string): Promise<number>;
  inspectContainer(containerId: string): Promise<ContainerState>;
  /** Bytes the container wrote to its own filesystem (where /opt/ml lives). */
  writtenBytes(containerId: string): Promise<number>;
  /** Sends a signal; a container that is no longer running is not an error. */
  killContainer(containerId: string, signal: StopSignal): Promise<void>;
  /** What the container changed in its own filesystem, as `docker diff` lists it: far cheaper than reading an archive. */
  changes(containerId: string): Promise<FilesystemChange[]>;
  /**
   * The modification time of `path` inside the container as the engine reports it (its archive stat: no archive
   * is read, about a fifth of the cost of `changes`); undefined when the path is absent. Absent where the engine
   * cannot.
   */
  pathModified?(containerId: string, path: string): Promise<string | undefined>;
  /** A tar stream of `path` inside the container (entries named after the path's last part); undefined when absent. */
  getArchive(containerId: string, path: string): Promise<Readable | undefined>;
  /** Removes the container and its anonymous volumes, running or not; an absent container is not an error. */
  removeContainer(containerId: string): Promise<void>;
  /** Every container, running or not, carrying `label` (`key` or `key=value`). */
  listContainers(label: string): Promise<ContainerSummary[]>;
  /** The container's IPv4 address on `network` (a running container); undefined when it has none there. */
  containerAddress?(containerId: string, network: string): Promise<string | undefined>;
  /**
   * Makes an image of a created container's filesystem, with its config as it is plus `labels`, tagged
   * `repository:tag`; returns the image id. Absent where the engine cannot (the runner then does without).
   */
  commitContainer?(containerId: string, opts: { repository: string; tag: string; labels: Record<string, string> }): Promise<string>;
  /** Every image carrying `label` (`key` or `key=value`). */
  listImages?(label: string): Promise<ImageSummary[]>;
  /** Removes an image (not one a container still uses: the engine refuses, and that is an error). An absent one is not. */
  removeImage?(reference: string): Promise<void>;
  /** Returns the network id. */
  createNetwork(spec: NetworkCreateSpec): Promise<string>;
  /** An absent network is not an error. */
  removeNetwork(networkId: string): Promise<void>;
}

/** One path of a container's filesystem that differs from its image: added (with all it holds), modified or deleted. */
export interface FilesystemChange {
  path: string;
  kind: 'added' | 'modified' | 'deleted';
}

/** Anything the engine refused or failed at, with its HTTP status when there was one and its own message. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    message: string,
    readonly statusCode?: number,
    options?: { cause?: unknown; operation?: string },
  ) {
    super(message, options);
    this.operation = options?.operation;
  }

  /** What the runner asked of the engine ('wait container', 'logs'…), for a message that says what failed. */
  readonly operation?: string;
}
