import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import {
  EngineError,
  type BuildImageOptions,
  type ContainerCreateSpec,
  type ContainerEngine,
  type ContainerLogs,
  type ContainerState,
  type ContainerSummary,
  type FilesystemChange,
  type ImageInfo,
  type ImageSummary,
  type NetworkCreateSpec,
  type PullProgress,
  type RegistryAuth,
  type StopSignal,
} from './container-engine.js';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
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
  return msg.replace(/^\(HTTP code \d+\)[a-z\s]*-\s*/i, '').trim();
}

function engineError(e: unknown, what: string): EngineError {
  if (e instanceof EngineError) return e;
  const status = statusOf(e);
  const message = engineMessage(e) || `${what} failed`;
  return new EngineError(message, status, { cause: e, operation: what });
}

/**
 * Whether a container that ended was killed for memory. Podman 4 never sets State.OOMKilled (containers/podman#13102,
 * fixed in 5.0) and sends no `oom` event; its container cgroup is gone by the time the container is seen to have
 * ended, so nothing else is left to ask. There, a SIGKILL exit (137) under a memory limit is taken as the OOM kill it
 * almost always is: the runner's own SIGKILLs (deadline, cancel, volume) are told apart by their stop reason first, so
 * only a SIGKILL from outside the runner (a `podman kill` by hand) would be misreported.
 */
export function endedForMemory(
  state: { OOMKilled?: boolean; Running?: boolean; ExitCode?: number },
  memoryLimitBytes: number | undefined,
  engineReportsOom: boolean,
): boolean {
  if (state.OOMKilled) return true;
  return !engineReportsOom && !state.Running && state.ExitCode === 137 && (memoryLimitBytes ?? 0) > 0;
}

interface ProgressEvent {
  id?: string;
  /** A build's output, newline included. */
  stream?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The ContainerEngine port over dockerode (Docker Engine API, or Podman's compatible socket). */
export class DockerEngine implements ContainerEngine {
  readonly endpoint: string;
  readonly sharesHostFilesystem: boolean;

  /** Podman's compatible API, asked once (`/version` names its `Podman Engine` component). */
  private podman?: Promise<boolean>;
  /** Podman: attaches the engine refused before start (409); fed from the log once the container starts. */
  private readonly deferredAttach = new Map<string, (started: boolean) => void>();

  constructor(
    private readonly docker: Docker,
    opts: { endpoint: string; sharesHostFilesystem: boolean },
  ) {
    this.endpoint = opts.endpoint;
    this.sharesHostFilesystem = opts.sharesHostFilesystem;
  }

  private isPodman(): Promise<boolean> {
    this.podman ??= this.docker.version().then(
      (v) => Boolean(v.Components?.some((c) => /podman/i.test(c.Name))),
      () => false,
    );
    return this.podman;
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
      return {
        id: i.Id,
        repoDigests: i.RepoDigests ?? [],
        repoTags: i.RepoTags ?? [],
        os: i.Os || undefined,
        architecture: i.Architecture || undefined,
        layers: i.RootFS?.Layers ?? [],
        volumes: Object.keys(i.Config?.Volumes ?? {}),
        labels: i.Config?.Labels ?? {},
      };
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

  async buildImage(context: Readable, opts: BuildImageOptions): Promise<void> {
    const stream = await this.call('build', () =>
      this.docker.buildImage(context, {
        t: opts.tag,
        dockerfile: opts.dockerfile,
        buildargs: opts.buildArgs,
        // The intermediate containers of a failed step are removed too: nothing of a build is left behind.
        rm: true,
        forcerm: true,
        abortSignal: opts.signal,
      }) as Promise<Readable>,
    );
    await new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          // The classic builder reports a failed step inside a 200 stream: its error line is the reason.
          if (failure !== undefined) reject(new EngineError(failure, undefined, { operation: 'build' }));
          else if (err) reject(engineError(err, 'build'));
          else resolve();
        },
        (event: ProgressEvent) => {
          if (event.error || event.errorDetail) {
            failure ??= (event.errorDetail?.message ?? event.error ?? 'build failed').trim();
            return;
          }
          for (const line of (event.stream ?? event.status ?? '').split('\n')) if (line.trim() !== '') opts.onProgress?.(line.trimEnd());
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
    const deferred = this.deferredAttach.get(containerId);
    this.deferredAttach.delete(containerId);
    try {
      await this.call('start container', () => this.docker.getContainer(containerId).start());
    } catch (e) {
      deferred?.(false);
      throw e;
    }
    deferred?.(true);
  }

  async followLogs(containerId: string): Promise<ContainerLogs> {
    const raw = (await this.call('logs', () =>
      this.docker.getContainer(containerId).logs({ follow: true, stdout: true, stderr: true }),
    )) as unknown as Readable;
    return demuxLogStream(raw);
  }

  async attachOutput(containerId: string): Promise<ContainerLogs> {
    let raw: Readable;
    try {
      // As `docker run` attaches: the live streams only. With logs: true the engine joins the live output, answers
      // (so start follows at once), and only then copies its log file: on a loaded engine that copy comes after the
      // start, and every line printed in between arrives twice (the log's copy first, then the live one).
      raw = (await this.docker.getContainer(containerId).attach({ stream: true, stdout: true, stderr: true, logs: false })) as unknown as Readable;
    } catch (e) {
      // Podman runs `runc create` on an attach before start, so a runtime error (a missing entrypoint) is a 409 here,
      // where Docker reports it on start. Leave it to start, as on Docker, and read the log once the container runs.
      if (statusOf(e) !== 409 || !(await this.isPodman())) throw engineError(e, 'attach');
      return this.attachAfterStart(containerId);
    }
    return demuxLogStream(raw);
  }

  private attachAfterStart(containerId: string): ContainerLogs {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const done = new Promise<void>((resolve, reject) => {
      this.deferredAttach.set(containerId, (started) => {
        if (!started) {
          stdout.end();
          stderr.end();
          resolve();
          return;
        }
        this.followLogs(containerId).then((logs) => {
          logs.stdout.pipe(stdout);
          logs.stderr.pipe(stderr);
          return logs.done;
        }).then(resolve, (e: unknown) => {
          stdout.end();
          stderr.end();
          reject(e as Error);
        });
      });
    });
    return { stdout, stderr, done };
  }

  async waitContainer(containerId: string): Promise<number> {
    const c = this.docker.getContainer(containerId);
    // The default condition (not-running) returns at once for a container not started yet: Docker says 0, Podman -1.
    // next-exit waits for its exit on both, but would never return for one that ended before the wait reached the
    // engine (a start racing this call): a look every second covers that.
    const { State: state } = await this.call('inspect container', () => c.inspect());
    // Ended already (a short job's exit is often done by the time this looks): the code is in the answer.
    if (state.Status === 'exited' || state.Status === 'dead') return state.ExitCode;
    if (state.Status !== 'created') {
      const r = (await this.call('wait container', () => c.wait())) as { StatusCode: number };
      return r.StatusCode;
    }
    const abort = new AbortController();
    const waited = this.call('wait container', () => c.wait({ condition: 'next-exit', abortSignal: abort.signal } as Docker.ContainerWaitOptions)).then(
      (r: { StatusCode: number }) => r.StatusCode,
    );
    const looked = (async () => {
      for (;;) {
        await sleep(1000, undefined, { signal: abort.signal });
        const state = (await this.call('inspect container', () => c.inspect())).State;
        if (state.Status === 'exited' || state.Status === 'dead') return state.ExitCode;
      }
    })();
    try {
      return await Promise.race([waited, looked]);
    } finally {
      abort.abort();
      waited.catch(() => undefined);
      looked.catch(() => undefined);
    }
  }

  async inspectContainer(containerId: string): Promise<ContainerState> {
    const i = await this.call('inspect container', () => this.docker.getContainer(containerId).inspect());
    const oomKilled = endedForMemory(i.State, i.HostConfig?.Memory, !(await this.isPodman()));
    return { running: i.State.Running, exitCode: i.State.ExitCode, oomKilled };
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

  async changes(containerId: string): Promise<FilesystemChange[]> {
    const list = (await this.call('container changes', () => this.docker.getContainer(containerId).changes())) as unknown;
    // No change at all comes as a `null` body, which dockerode hands over as an empty Buffer.
    if (!Array.isArray(list)) return [];
    // The engine's kinds: 0 modified, 1 added, 2 deleted.
    return (list as { Path: string; Kind: number }[]).map((c) => ({ path: c.Path, kind: c.Kind === 1 ? 'added' : c.Kind === 2 ? 'deleted' : 'modified' }));
  }

  async pathModified(containerId: string, path: string): Promise<string | undefined> {
    let res: IncomingMessage;
    try {
      res = (await this.docker.getContainer(containerId).infoArchive({ path })) as unknown as IncomingMessage;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw engineError(e, 'stat path');
    }
    res.resume();
    // base64 JSON of the path's stat: { name, size, mode, mtime, linkTarget }.
    const header = res.headers['x-docker-container-path-stat'];
    if (typeof header !== 'string') throw new EngineError(`the engine's answer for ${path} has no path stat`, undefined, { operation: 'stat path' });
    const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mtime?: unknown };
    if (typeof stat.mtime !== 'string') throw new EngineError(`the engine's stat of ${path} has no mtime`, undefined, { operation: 'stat path' });
    return stat.mtime;
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

  async commitContainer(containerId: string, opts: { repository: string; tag: string; labels: Record<string, string> }): Promise<string> {
    if (await this.isPodman()) throw new EngineError('this engine (Podman) is not asked to commit containers', undefined, { operation: 'commit' });
    const container = this.docker.getContainer(containerId);
    const { Config } = await this.call('inspect container', () => container.inspect());
    // The container's config whole, as a commit without a body keeps it (a partial one would drop fields such
    // as Shell), with the labels added: they are how the image is recognised later.
    const config = { ...Config, Labels: { ...(Config.Labels ?? {}), ...opts.labels } };
    const committed = await this.call(
      'commit',
      () =>
        new Promise<{ Id: string }>((resolve, reject) =>
          this.docker.modem.dial(
            {
              path: '/commit?',
              method: 'POST',
              options: { _query: { container: containerId, repo: opts.repository, tag: opts.tag, pause: false }, _body: config },
              statusCodes: { 201: true, 404: 'no such container', 500: 'server error' },
            },
            (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as { Id: string })),
          ),
        ),
    );
    return committed.Id;
  }

  async listImages(label: string): Promise<ImageSummary[]> {
    const list = await this.call('list images', () => this.docker.listImages({ filters: { label: [label] } }));
    return list.map((i) => ({ id: i.Id, repoTags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), labels: i.Labels ?? {} }));
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await this.docker.getImage(reference).remove({ noprune: false });
    } catch (e) {
      if (statusOf(e) !== 404) throw engineError(e, 'remove image');
    }
  }

  async listContainers(label: string): Promise<ContainerSummary[]> {
    const list = await this.call('list containers', () => this.docker.listContainers({ all: true, filters: { label: [label] } }));
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, running: c.State === 'running' }));
  }

  async containerAddress(containerId: string, network: string): Promise<string | undefined> {
    const i = await this.call('inspect container', () => this.docker.getContainer(containerId).inspect());
    return i.NetworkSettings?.Networks?.[network]?.IPAddress || undefined;
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
