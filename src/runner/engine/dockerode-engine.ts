import Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import type { ContainerCreateSpec, ContainerEngine, ContainerState, ImageInfo, PullProgress, RegistryAuth } from './container-engine.js';

/** X-Registry-Auth: base64url WITH its `=` padding; without it the engine silently pulls anonymously. */
export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/** The engine's own message from a dockerode error (its JSON body), not dockerode's wrapper text. */
export function engineMessage(e: unknown): string {
  const json = (e as { json?: { message?: string } }).json;
  if (json?.message) return json.message;
  const msg = (e as Error).message ?? String(e);
  return msg.replace(/^\(HTTP code \d+\)\s*[a-z ]*-\s*/i, '').trim();
}

export class DockerodeEngine implements ContainerEngine {
  readonly endpoint: string;
  readonly sharesHostFilesystem: boolean;

  constructor(
    private readonly docker: Docker,
    opts: { endpoint: string; sharesHostFilesystem: boolean },
  ) {
    this.endpoint = opts.endpoint;
    this.sharesHostFilesystem = opts.sharesHostFilesystem;
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async inspectImage(reference: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.docker.getImage(reference).inspect();
      return { id: i.Id, repoDigests: i.RepoDigests ?? [], repoTags: i.RepoTags ?? [] };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async pullImage(reference: string, opts: { auth?: RegistryAuth; onProgress?: (p: PullProgress) => void }): Promise<void> {
    const stream = (await this.docker.pull(reference, {
      ...(opts.auth ? { authconfig: opts.auth } : {}),
    })) as Readable;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: { error?: string; errorDetail?: { message?: string } }[]) => {
          // Podman (and pushes) report failures inside a 200 stream: scan every line.
          const failed = output?.find((o) => o.error || o.errorDetail);
          if (err) reject(err);
          else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
          else resolve();
        },
        (event: { id?: string; status?: string; progress?: string }) =>
          opts.onProgress?.({ id: event.id, status: event.status ?? '', progress: event.progress }),
      );
    });
  }

  async createContainer(spec: ContainerCreateSpec): Promise<string> {
    const c = await this.docker.createContainer({
      Image: spec.image,
      name: spec.name,
      Hostname: spec.hostname,
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        Binds: spec.binds.map((b) => `${b.hostPath}:${b.containerPath}:${b.readOnly ? 'ro' : 'rw'}`),
        NetworkMode: spec.networkMode,
        NanoCpus: spec.nanoCpus,
        Memory: spec.memoryBytes,
        MemorySwap: spec.memoryBytes,
        ShmSize: spec.shmSizeBytes,
        PidsLimit: spec.pidsLimit,
        CapDrop: spec.capDrop,
        CapAdd: spec.capAdd,
        SecurityOpt: spec.securityOpt,
        Privileged: false,
        DeviceRequests: spec.gpus > 0 ? [{ Driver: 'nvidia', Count: spec.gpus, Capabilities: [['gpu']] }] : undefined,
      },
    });
    return c.id;
  }

  async putArchive(containerId: string, path: string, tar: Readable): Promise<void> {
    await this.docker.getContainer(containerId).putArchive(tar, { path });
  }

  async startContainer(containerId: string): Promise<void> {
    await this.docker.getContainer(containerId).start();
  }

  async followLogs(containerId: string): Promise<{ stdout: Readable; stderr: Readable; done: Promise<void> }> {
    const raw = (await this.docker.getContainer(containerId).logs({
      follow: true,
      stdout: true,
      stderr: true,
    })) as unknown as Readable;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(raw, stdout, stderr);
    const done = new Promise<void>((resolve) => {
      const end = () => {
        stdout.end();
        stderr.end();
        resolve();
      };
      raw.once('end', end);
      raw.once('close', end);
      raw.once('error', end);
    });
    return { stdout, stderr, done };
  }

  async waitContainer(containerId: string): Promise<number> {
    const r = (await this.docker.getContainer(containerId).wait()) as { StatusCode: number };
    return r.StatusCode;
  }

  async inspectContainer(containerId: string): Promise<ContainerState> {
    const i = await this.docker.getContainer(containerId).inspect();
    return { running: i.State.Running, exitCode: i.State.ExitCode, oomKilled: i.State.OOMKilled };
  }

  async writtenBytes(containerId: string): Promise<number> {
    // The engine accepts `size` although the types do not list it.
    const i = (await this.docker.getContainer(containerId).inspect({ size: true } as Docker.ContainerInspectOptions)) as { SizeRw?: number };
    return i.SizeRw ?? 0;
  }

  async killContainer(containerId: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    try {
      await this.docker.getContainer(containerId).kill({ signal });
    } catch (e) {
      // Already stopped: nothing to do.
      if (statusOf(e) !== 409 && statusOf(e) !== 304) throw e;
    }
  }

  async getArchive(containerId: string, path: string): Promise<Readable | undefined> {
    try {
      return (await this.docker.getContainer(containerId).getArchive({ path })) as unknown as Readable;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async removeContainer(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }

  async listContainers(label: string): Promise<{ id: string; labels: Record<string, string>; running: boolean }[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [label] } });
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {}, running: c.State === 'running' }));
  }
}
