import type Docker from 'dockerode';
import { getContainerRuntimeClient, getReaper, LABEL_TESTCONTAINERS_SESSION_ID, type ContainerRuntimeClient } from 'testcontainers';
import { DockerEngine } from '../runner/docker-engine.js';
import type { ContainerCreateSpec, NetworkCreateSpec } from '../runner/container-engine.js';

/**
 * testcontainers' marker label. Only the session id's label is exported by testcontainers' index; this one is the
 * value its own `createLabels()` puts on every container it makes (utils/labels), so tools that list
 * testcontainers' resources see ours too.
 */
export const LABEL_TESTCONTAINERS = 'org.testcontainers';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** A DockerEngine that puts the given labels on every container and network it creates, whatever the run asked. */
export class LabelledDockerEngine extends DockerEngine {
  constructor(
    docker: Docker,
    opts: { endpoint: string; sharesHostFilesystem: boolean },
    readonly labels: Record<string, string>,
  ) {
    super(docker, opts);
  }

  override createContainer(spec: ContainerCreateSpec): Promise<string> {
    return super.createContainer({ ...spec, labels: { ...spec.labels, ...this.labels } });
  }

  override createNetwork(spec: NetworkCreateSpec): Promise<string> {
    return super.createNetwork({ ...spec, labels: { ...spec.labels, ...this.labels } });
  }
}

/** What testcontainers found: its client (engine found its way: DOCKER_HOST, ~/.testcontainers.properties, Podman…) and this session's id. */
export interface TestcontainersSession {
  client: ContainerRuntimeClient;
  dockerode: Docker;
  sessionId: string;
  /** Where the engine is, for messages. */
  endpoint: string;
  sharesHostFilesystem: boolean;
}

export class TestcontainersUnavailableError extends Error {
  override readonly name = 'TestcontainersUnavailableError';
}

let session: Promise<TestcontainersSession> | undefined;

/**
 * testcontainers' engine and session, once per process (testcontainers caches both too). Its reaper (Ryuk) is
 * started here, as GenericContainer does, so our containers carry a session Ryuk watches; offline, where its image
 * cannot be pulled, the error says how to go without it.
 */
export function testcontainersSession(): Promise<TestcontainersSession> {
  session ??= (async () => {
    let client: ContainerRuntimeClient;
    try {
      client = await getContainerRuntimeClient();
    } catch (e) {
      throw new TestcontainersUnavailableError(`testcontainers found no container engine: ${(e as Error).message}`, { cause: e });
    }
    let sessionId: string;
    try {
      sessionId = (await getReaper(client)).sessionId;
    } catch (e) {
      throw new TestcontainersUnavailableError(
        `testcontainers could not start its reaper (Ryuk, image ${process.env.RYUK_CONTAINER_IMAGE ?? 'testcontainers/ryuk'}): ` +
          `${(e as Error).message}. Without Docker Hub, set TESTCONTAINERS_RYUK_DISABLED=true (TrainingContainer then removes ` +
          'what a dead test process left when the next one starts), or RYUK_CONTAINER_IMAGE to a mirror of it.',
        { cause: e },
      );
    }
    const dockerode = client.container.dockerode;
    const modem = dockerode.modem as { socketPath?: string; host?: string; port?: number | string; protocol?: string };
    const endpoint = modem.socketPath ? `unix://${modem.socketPath}` : `${modem.protocol ?? 'http'}://${modem.host}:${modem.port ?? ''}`;
    // Bind mounts name this machine's folders: only an engine on this machine sees them (else channels are streamed in).
    const sharesHostFilesystem = Boolean(modem.socketPath) || LOOPBACK.has(modem.host ?? '');
    return { client, dockerode, sessionId, endpoint, sharesHostFilesystem };
  })();
  session.catch(() => (session = undefined));
  return session;
}

/** testcontainers' labels for this session: Ryuk removes what carries them once the test process is gone. */
export function sessionLabels(s: Pick<TestcontainersSession, 'sessionId'>): Record<string, string> {
  return { [LABEL_TESTCONTAINERS]: 'true', [LABEL_TESTCONTAINERS_SESSION_ID]: s.sessionId };
}

/** The product's engine port over testcontainers' own dockerode, labelling everything for this session and `labels`. */
export function testcontainersEngine(s: TestcontainersSession, labels: Record<string, string>): LabelledDockerEngine {
  return new LabelledDockerEngine(s.dockerode, { endpoint: s.endpoint, sharesHostFilesystem: s.sharesHostFilesystem }, { ...labels, ...sessionLabels(s) });
}
