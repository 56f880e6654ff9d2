import type { Readable } from 'node:stream';

/**
 * The container engine as the runner needs it, in our own types: the runner's logic never sees
 * dockerode, so a Podman or remote engine, or a fake for edge cases, fits behind the same port.
 */

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface ImageInfo {
  id: string;
  repoDigests: string[];
  repoTags: string[];
}

export interface PullProgress {
  id?: string;
  status: string;
  progress?: string;
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
  entrypoint?: string[];
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  binds: BindMount[];
  networkMode: string;
  nanoCpus: number;
  memoryBytes: number;
  shmSizeBytes: number;
  pidsLimit: number;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  gpus: number;
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
}

export interface ContainerEngine {
  /** Where the engine is, for messages (unix:///var/run/docker.sock, tcp://…). */
  readonly endpoint: string;
  /** Whether bind mounts of this machine's folders are visible to the engine (false for a remote engine). */
  readonly sharesHostFilesystem: boolean;
  ping(): Promise<void>;
  inspectImage(reference: string): Promise<ImageInfo | undefined>;
  /** Pulls; rejects with the registry's own words when the engine or the stream reports an error. */
  pullImage(reference: string, opts: { auth?: RegistryAuth; onProgress?: (p: PullProgress) => void }): Promise<void>;
  createContainer(spec: ContainerCreateSpec): Promise<string>;
  putArchive(containerId: string, path: string, tar: Readable): Promise<void>;
  startContainer(containerId: string): Promise<void>;
  /** Follows stdout and stderr from the first byte until the container ends. */
  followLogs(containerId: string): Promise<{ stdout: Readable; stderr: Readable; done: Promise<void> }>;
  waitContainer(containerId: string): Promise<number>;
  inspectContainer(containerId: string): Promise<ContainerState>;
  /** Bytes the container wrote to its own filesystem (where /opt/ml lives). */
  writtenBytes(containerId: string): Promise<number>;
  killContainer(containerId: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** A tar stream of `path` inside the container; undefined when the path does not exist. */
  getArchive(containerId: string, path: string): Promise<Readable | undefined>;
  removeContainer(containerId: string): Promise<void>;
  listContainers(label: string): Promise<{ id: string; labels: Record<string, string>; running: boolean }[]>;
}
