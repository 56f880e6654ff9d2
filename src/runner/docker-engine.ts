import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import {
  EngineError,
  type ContainerCreateSpec,
  type ContainerEngine,
  type ContainerLogs,
  type ContainerState,
  type ContainerSummary,
  type ImageInfo,
  type NetworkCreateSpec,
  type PullProgress,
  type RegistryAuth,
  type StopSignal,
} from './container-engine.js';
import { demuxLogStream } from './log-demuxer.js';

/** X-Registry-Auth: base64url WITH its `=` padding; without the padding the engine silently pulls anonymously. */
export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

/** The engine's own message from a dockerode error (its JSON body), not dockerode's wrapper text. */
function engineMessage(e: unknown): string {
  const json = (e as { json?: { message?: string } | string } | undefined)?.json;
  if (typeof json === 'object' && json?.message) return json.message;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/^\(HTTP code \d+\)\s*[a-z ]*-\s*/i, '').trim();
}

function engineError(e: unknown, what: string): EngineError {
  if (e instanceof EngineError) return e;
  const status = statusOf(e);
  const message = engineMessage(e) || `${what} failed`;
  return new EngineError(message, status, { cause: e, operation: what });
}

interface ProgressEvent {
  id?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The ContainerEngine port over dockerode (Docker Engine API, or Podman's compatible socket). */
export class DockerEngine implements ContainerEngine {
  readonly endpoint: string;
  readonly sharesHostFilesystem: boolean;

  constructor(
    private readonly docker: Docker,
    opts: { endpoint: string; sharesHostFilesystem: boolean },
  ) {
    this.endpoint = opts.endpoint;
    this.sharesHostFilesystem = opts.sharesHostFilesystem;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw engineError(e, what);
    }
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping());
  }

  async inspectImage(reference: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.docker.getImage(reference).inspect();
      return { id: i.Id, repoDigests: i.RepoDigests ?? [], repoTags: i.RepoTags ?? [] };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw engineError(e, 'inspect image');
    }
  }

  async pullImage(reference: string, opts: { auth?: RegistryAuth; onProgress?: (p: PullProgress) => void } = {}): Promise<void> {
    const stream = await this.call(
      'pull',
      () => this.docker.pull(reference, opts.auth ? { authconfig: { key: encodeRegistryAuth(opts.auth) } } : {}) as Promise<Readable>,
    );
    await new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          // Podman (and some registries) report a failed pull inside a 200 stream: any line with an error fails it.
          if (failure !== undefined) reject(new EngineError(failure));
          else if (err) reject(engineError(err, 'pull'));
          else resolve();
        },
        (event: ProgressEvent) => {
          if (event.error || event.errorDetail) {
            failure ??= event.errorDetail?.message ?? event.error ?? 'pull failed';
            return;
          }
          opts.onProgress?.({ id: event.id, status: event.status ?? '', progress: event.progress });
        },
      );
    });
  }

  async createContainer(spec: ContainerCreateSpec): Promise<string> {
    const userNetwork = !['none', 'bridge', 'host', 'default'].includes(spec.networkMode);
    const c = await this.call('create container', () =>
      this.docker.createContainer({
        Image: spec.image,
        name: spec.name,
        Hostname: spec.hostname,
        Entrypoint: spec.entrypoint,
        Cmd: spec.cmd,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Labels: spec.labels,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: {
          Binds: spec.binds.map((b) => `${b.hostPath}:${b.containerPath}:${b.readOnly ? 'ro' : 'rw'}`),
          NetworkMode: spec.networkMode,
          NanoCpus: spec.nanoCpus,
          Memory: spec.memoryBytes,
          // Equal to Memory: no swap, so a memory-hungry job is killed for memory rather than crawling.
          MemorySwap: spec.memoryBytes,
          ShmSize: spec.shmSizeBytes,
          PidsLimit: spec.pidsLimit,
          CapDrop: spec.capDrop,
          CapAdd: spec.capAdd,
          SecurityOpt: spec.securityOpt,
          Privileged: false,
          DeviceRequests: spec.gpus > 0 ? [{ Driver: 'nvidia', Count: spec.gpus, Capabilities: [['gpu']] }] : undefined,
        },
        NetworkingConfig:
          userNetwork && spec.networkAliases?.length
            ? { EndpointsConfig: { [spec.networkMode]: { Aliases: spec.networkAliases } } }
            : undefined,
      }),
    );
    return c.id;
  }

  async putArchive(containerId: string, path: string, tar: Readable): Promise<void> {
    await this.call('put archive', () => this.docker.getContainer(containerId).putArchive(tar, { path }));
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call('start container', () => this.docker.getContainer(containerId).start());
  }

  async followLogs(containerId: string): Promise<ContainerLogs> {
    const raw = (await this.call('logs', () =>
      this.docker.getContainer(containerId).logs({ follow: true, stdout: true, stderr: true }),
    )) as unknown as Readable;
    return demuxLogStream(raw);
  }

  async attachOutput(containerId: string): Promise<ContainerLogs> {
    const raw = (await this.call('attach', () =>
      this.docker.getContainer(containerId).attach({ stream: true, stdout: true, stderr: true, logs: true }),
    )) as unknown as Readable;
    return demuxLogStream(raw);
  }

  async waitContainer(containerId: string): Promise<number> {
    const r = (await this.call('wait container', () => this.docker.getContainer(containerId).wait())) as { StatusCode: number };
    return r.StatusCode;
  }

  async inspectContainer(containerId: string): Promise<ContainerState> {
    const i = await this.call('inspect container', () => this.docker.getContainer(containerId).inspect());
    return { running: i.State.Running, exitCode: i.State.ExitCode, oomKilled: i.State.OOMKilled };
  }

  async writtenBytes(containerId: string): Promise<number> {
    // The engine accepts `size` although the types do not list it.
    const i = (await this.call('inspect container', () =>
      this.docker.getContainer(containerId).inspect({ size: true } as Docker.ContainerInspectOptions),
    )) as { SizeRw?: number };
    return i.SizeRw ?? 0;
  }

  async killContainer(containerId: string, signal: StopSignal): Promise<void> {
    try {
      await this.docker.getContainer(containerId).kill({ signal });
    } catch (e) {
      // 409: not running any more, 304: already stopped; both mean there is nothing to signal.
      if (statusOf(e) !== 409 && statusOf(e) !== 304) throw engineError(e, 'kill container');
    }
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(containerId).stop({ t: timeoutSeconds });
    } catch (e) {
      if (statusOf(e) !== 304 && statusOf(e) !== 409) throw engineError(e, 'stop container');
    }
  }

  async getArchive(containerId: string, path: string): Promise<Readable | undefined> {
    try {
      return (await this.docker.getContainer(containerId).getArchive({ path })) as unknown as Readable;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw engineError(e, 'get archive');
    }
  }

  async removeContainer(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (e) {
      // 404: already gone; 409: removal already in progress.
      if (statusOf(e) !== 404 && statusOf(e) !== 409) throw engineError(e, 'remove container');
    }
  }

  async listContainers(label: string): Promise<ContainerSummary[]> {
    const list = await this.call('list containers', () => this.docker.listContainers({ all: true, filters: { label: [label] } }));
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, running: c.State === 'running' }));
  }

  async createNetwork(spec: NetworkCreateSpec): Promise<string> {
    const n = await this.call('create network', () =>
      this.docker.createNetwork({ Name: spec.name, Internal: spec.internal, Labels: spec.labels, Options: spec.driverOptions, CheckDuplicate: true }),
    );
    return n.id;
  }

  async removeNetwork(networkId: string): Promise<void> {
    try {
      await this.docker.getNetwork(networkId).remove();
    } catch (e) {
      if (statusOf(e) !== 404) throw engineError(e, 'remove network');
    }
  }
}
