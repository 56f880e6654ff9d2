import { constants, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { walkChannelFolder, type ChannelFile } from '../channels/local-data.js';
import { ImagePullError, type ImageResolver, type ResolvedImage } from '../runner/image-resolver.js';
import { InsufficientCapacityError, limitsFor, type HostCapacity } from '../runner/resource-limits.js';
import { clusterHosts } from '../runner/cluster-network.js';
import { LogFollower } from '../runner/log-follower.js';
import { waitForExit } from '../runner/container-wait.js';
import { removeContainerLogged, removeNetworkLogged } from '../runner/provisioned-run.js';
import { runnerFailure } from '../runner/runner-failure.js';
import type { CapacityGate } from '../runner/capacity-gate.js';
import { runnerResources, type RunnerResourceOptions } from '../runner/runner-resources.js';
import type { ContainerLogs } from '../runner/container-engine.js';
import { inferenceInstanceTypeSpec } from './inference-instance-types.js';
import { ArchiveExtractionError, extractArchiveSafely } from '../runner/archive-extraction.js';
import { recordBatches, RecordTooLargeError, type RecordBatch } from './record-batches.js';
import { InvocationClient, INFERENCE_PORT } from './invocation-client.js';
import { IptablesHostFirewall, type HostFirewall } from './host-firewall.js';
import {
  inferenceBridgeName,
  inferenceNetworkName,
  LABEL_INFERENCE_HOST,
  LABEL_INFERENCE_JOB,
  LABEL_INFERENCE_STORE,
} from './inference-labels.js';
import type { InferenceEvents, InferenceJobSpec, InferenceResult, InferenceRunner, InferenceStatusCode } from './types.js';

export interface DockerInferenceRunnerOptions extends RunnerResourceOptions {
  /** What keeps the containers from the host's services (default: an iptables rule on the job's bridge). */
  firewall?: HostFirewall;
}

const PING_INTERVAL_MS = 250;
/** The most one answer may hold when the association sets no maxOutputSize: this process keeps it in memory. */
const MAX_RESPONSE_BYTES = 1024 ** 3;
const MESSAGE_CHARS = 1024;
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const MODEL_PATH = '/opt/ml/model';

/** A job that ends before its work is done, with its status code: control flow inside run() only. */
class JobFailed extends Error {
  override readonly name = 'JobFailed';
  constructor(
    readonly statusCode: InferenceStatusCode,
    message: string,
  ) {
    super([...message].slice(0, MESSAGE_CHARS).join(''));
  }
}

interface Member {
  host: string;
  containerId: string;
  output?: ContainerLogs;
  follower?: LogFollower;
  client?: InvocationClient;
}

/**
 * Runs one inference job as SageMaker batch transform does, over the engine: the trained model's model.tar.gz
 * extracted (safely) and mounted read-only at /opt/ml/model, `instanceCount` containers of the algorithm's
 * inference image started with `serve` on a network of the job's own, GET /ping until each answers 200, then
 * the ML input channel's records POSTed to /invocations in requests of at most maxPayloadInMB (split between
 * lines, never inside one), shared by the containers, each input file's answers written in order to
 * `<file>.out`; output/ is packed into output.tar.gz. The containers, their network and the firewall rule are
 * removed whatever happened.
 */
export class DockerInferenceRunner implements InferenceRunner {
  private readonly host: HostCapacity;
  private readonly resolver: ImageResolver;
  private readonly firewall: HostFirewall;
  private readonly capacity: CapacityGate;

  constructor(private readonly opts: DockerInferenceRunnerOptions) {
    ({ host: this.host, capacity: this.capacity, resolver: this.resolver } = runnerResources(opts));
    this.firewall = opts.firewall ?? new IptablesHostFirewall();
  }

  async run(spec: InferenceJobSpec, events: InferenceEvents, signal: AbortSignal): Promise<InferenceResult> {
    const { engine, settings } = this.opts;
    const arn = spec.trainedModelInferenceJobArn;
    const log = this.opts.logger.child({ trainedModelInferenceJobArn: arn });
    const startedAt = new Date();
    const say = (text: string, host = 'algo-1') => events.onLogLine({ time: new Date(), stream: 'stderr', host, text: `[cleanrooms-ml-local] ${text}` });
    const network = inferenceNetworkName(arn);
    const bridge = inferenceBridgeName(arn);
    const modelDir = join(spec.jobDir, 'model');
    const outputDir = join(spec.jobDir, 'output');
    const members: Member[] = [];
    let image: ResolvedImage | undefined;
    let invocations = 0;
    let outputBytes = 0;
    let networkMade = false;
    let logsDone: Promise<void>[] = [];
    let isolated = false;
    let releaseCapacity: (() => void) | undefined;

    // The first reason to stop wins: a cancel, the deadline, or a container that exited mid-job.
    const stop = new AbortController();
    let stopReason: 'cancel' | 'deadline' | 'exited' | undefined;
    let stopMessage = '';
    const stopWith = (reason: NonNullable<typeof stopReason>, message: string) => {
      if (stop.signal.aborted) return;
      stopReason = reason;
      stopMessage = message;
      stop.abort();
    };
    const onCancel = () => stopWith('cancel', 'The inference job was cancelled.');
    if (signal.aborted) onCancel();
    signal.addEventListener('abort', onCancel, { once: true });
    const deadline = setTimeout(
      () => stopWith('deadline', `The inference job ran longer than its maximum runtime of ${spec.maxRuntimeInSeconds} seconds.`),
      spec.maxRuntimeInSeconds * 1000,
    );
    const stopped = new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(new JobFailed('INTERNAL_ERROR', 'stopped')), { once: true }));
    stopped.catch(() => undefined);
    const until = <V>(p: Promise<V>): Promise<V> => Promise.race([p, stopped]);
    let finished = false;

    const end = (failure?: JobFailed, artifact?: string): InferenceResult => {
      const reason = stopReason;
      const cancelled = reason === 'cancel';
      const statusCode: InferenceStatusCode | undefined = reason
        ? cancelled
          ? 'CANCELLED'
          : reason === 'deadline'
            ? 'MAX_RUNTIME_EXCEEDED'
            : 'ALGORITHM_ERROR'
        : failure?.statusCode;
      const message = reason ? stopMessage : failure?.message;
      return {
        succeeded: !failure && !reason,
        cancelled,
        ...(statusCode ? { statusCode, message: [...(message ?? '')].slice(0, MESSAGE_CHARS).join('') } : {}),
        imageDigest: image?.digest,
        ...(artifact ? { outputDir, outputArtifactPath: artifact } : {}),
        invocations,
        outputBytes,
        startedAt,
        endedAt: new Date(),
      };
    };

    try {
      let limits;
      try {
        limits = limitsFor(spec.instanceType, this.host, settings.strictResources, inferenceInstanceTypeSpec(spec.instanceType));
      } catch (e) {
        if (e instanceof InsufficientCapacityError) throw new JobFailed('INTERNAL_ERROR', e.message);
        throw e;
      }
      if (limits.scaledDown) say(limits.scaledDown);
      // Every container at once, as a training cluster: the job stays CREATE_PENDING until the host has room.
      releaseCapacity = await this.capacity
        .acquire({ cpus: limits.vcpus * spec.instanceCount, memoryBytes: limits.memoryBytes * spec.instanceCount }, stop.signal)
        .catch(() => {
          throw new JobFailed('INTERNAL_ERROR', 'stopped');
        });
      try {
        image = await until(this.resolver.resolve(spec.imageUri, (p) => log.info({ pull: p }, 'pull progress')));
      } catch (e) {
        if (e instanceof ImagePullError) throw new JobFailed('IMAGE_PULL_FAILED', e.message);
        throw e;
      }
      const extracted = await until(extractArchiveSafely(spec.modelArtifactPath, modelDir)).catch((e: unknown) => {
        if (e instanceof ArchiveExtractionError) throw new JobFailed('ALGORITHM_ERROR', e.message);
        throw e;
      });
      if (extracted.skipped.length > 0) say(`model.tar.gz: links are not extracted, left out: ${extracted.skipped.join(', ')}`);

      await engine.removeNetwork(network).catch(() => undefined);
      const labels = { ...spec.labels, [LABEL_INFERENCE_JOB]: arn, 'crml.managed': 'true' };
      try {
        await engine.createNetwork({ name: network, internal: true, labels, driverOptions: { 'com.docker.network.bridge.name': bridge } });
      } catch {
        // An engine that refuses the bridge's name (Podman's netavark) gets a plain internal network.
        await engine.createNetwork({ name: network, internal: true, labels });
      }
      networkMade = true;
      const why = await this.firewall.isolate(bridge);
      if (why === undefined) isolated = true;
      else if (settings.inferenceAllowHostReachable) {
        log.warn({ bridge, why }, 'could not keep the inference containers away from the host');
        say(`the job's network could not be closed to this machine's services (${why}); the containers may reach them at the network's gateway (CRML_INFERENCE_ALLOW_HOST_REACHABLE accepts that).`);
      } else {
        // Hostile containers must not get this machine's services: refused unless the user says otherwise.
        throw new JobFailed(
          'INTERNAL_ERROR',
          `The job's network could not be closed to this machine's services (${why}), so its containers could reach them at the network's gateway. ` +
            'Run where iptables can be used (as root), or set CRML_INFERENCE_ALLOW_HOST_REACHABLE=1 to accept that.',
        );
      }
      say(`instanceCount ${spec.instanceCount}: ${clusterHosts(spec.instanceCount).join(', ')} on an internal network of the job's own (${network}).`);

      for (const host of clusterHosts(spec.instanceCount)) {
        const containerId = await engine.createContainer({
          image: image.imageId,
          hostname: host,
          cmd: ['serve'],
          env: spec.environment,
          labels: { ...labels, [LABEL_INFERENCE_HOST]: host },
          binds: engine.sharesHostFilesystem ? [{ hostPath: modelDir, containerPath: MODEL_PATH, readOnly: true }] : [],
          networkMode: network,
          networkAliases: [host],
          nanoCpus: Math.round(limits.vcpus * 1e9),
          memoryBytes: limits.memoryBytes,
          shmSizeBytes: limits.shmSizeBytes,
          pidsLimit: settings.hardening.pidsLimit,
          capDrop: ['ALL'],
          capAdd: settings.hardening.capAdd,
          securityOpt: settings.hardening.noNewPrivileges ? ['no-new-privileges'] : [],
          gpus: limits.gpus,
        });
        members.push({ host, containerId });
        // A remote engine cannot mount this machine's folder: the model goes in through the archive API.
        if (!engine.sharesHostFilesystem) await engine.putArchive(containerId, dirname(MODEL_PATH), folderTar(modelDir, 'model'));
      }
      for (const m of members) m.output = await engine.attachOutput(m.containerId);
      for (const m of members) await engine.startContainer(m.containerId);
      events.onStarted({ imageDigest: image.digest });
      logsDone = members.map((m) => {
        m.follower = new LogFollower({ events: { onLogLine: events.onLogLine, onMetric: () => undefined }, host: m.host, metricDefinitions: [] });
        return m.follower.follow(m.output!);
      });
      for (const m of members) {
        void waitForExit(engine, m.containerId, log).then(
          (code) => {
            if (finished) return;
            const tail = m.follower?.stderrTail.slice(-5).join('\n');
            stopWith('exited', `The inference container on ${m.host} exited with code ${code} before the job finished.${tail ? ` Last stderr lines: ${tail}` : ''}`);
          },
          () => undefined,
        );
      }
      for (const m of members) {
        const address = await until(engine.containerAddress?.(m.containerId, network) ?? Promise.resolve(undefined));
        if (!address) throw new JobFailed('INTERNAL_ERROR', `The engine at ${engine.endpoint} gave no address for the inference container on ${m.host} on network ${network}.`);
        m.client = new InvocationClient(address);
      }
      await until(Promise.all(members.map((m) => this.waitForPing(m, stop.signal))));
      say(`every container answered GET /ping; sending the records of ${spec.input.hostPath} (at most ${spec.maxPayloadBytes} bytes per request).`);

      await mkdir(outputDir, { recursive: true });
      const files = await until(sortedFiles(spec.input.hostPath));
      const idle = [...members];
      const waiting: ((m: Member) => void)[] = [];
      const acquire = () => new Promise<Member>((resolve) => (idle.length > 0 ? resolve(idle.shift()!) : waiting.push(resolve)));
      const release = (m: Member) => (waiting.length > 0 ? waiting.shift()!(m) : idle.push(m));
      const headers = { 'Content-Type': spec.input.contentType, ...(spec.accept ? { Accept: spec.accept } : {}) };

      for (const file of files) {
        const name = file.relativePath.split(sep).join('/');
        const target = join(outputDir, `${file.relativePath}.out`);
        await mkdir(dirname(target), { recursive: true });
        const out = await open(target, NEW_FILE, 0o644);
        try {
          const inFlight: Promise<Buffer>[] = [];
          const write = async (body: Buffer) => {
            const newline = body.length > 0 && body[body.length - 1] !== 0x0a;
            outputBytes += body.length + (newline ? 1 : 0);
            if (spec.maxOutputBytes !== undefined && outputBytes > spec.maxOutputBytes) {
              throw new JobFailed(
                'ALGORITHM_ERROR',
                `The inference output is larger than the association's privacyConfiguration.policies.trainedModelInferenceJobs.maxOutputSize (${spec.maxOutputBytes} bytes).`,
              );
            }
            await writeAll(out, newline ? Buffer.concat([body, Buffer.from('\n')]) : body);
          };
          for await (const batch of recordBatches(file.hostPath, spec.maxPayloadBytes, spec.input.contentType === 'text/csv', name)) {
            if (stop.signal.aborted) break;
            const member = await until(acquire());
            const remaining = spec.maxOutputBytes === undefined ? MAX_RESPONSE_BYTES : Math.max(0, spec.maxOutputBytes - outputBytes) + 1;
            const answer = this.invoke(member, batch, name, headers, remaining).finally(() => release(member));
            answer.catch(() => undefined);
            invocations += 1;
            inFlight.push(answer);
            // Answers are written in the order of their records; at most one request per container is in flight.
            while (inFlight.length >= members.length) await write(await until(inFlight.shift()!));
          }
          while (inFlight.length > 0) await write(await until(inFlight.shift()!));
        } finally {
          await out.close();
        }
      }
      if (stop.signal.aborted) throw new JobFailed('INTERNAL_ERROR', 'stopped');
      finished = true;
      say(`${invocations} requests answered, ${outputBytes} bytes of output in ${files.length} files.`);
      const artifact = join(spec.jobDir, 'output.tar.gz');
      await packFolder(outputDir, artifact);
      // The job's output, listed in its log: the API's job record has no place for it.
      const written = await sortedFiles(outputDir);
      for (const f of written.slice(0, 100)) say(`output: ${f.relativePath.split(sep).join('/')} (${f.size} bytes)`);
      if (written.length > 100) say(`output: and ${written.length - 100} more files`);
      say(`output archive: ${artifact}`);
      return end(undefined, artifact);
    } catch (e) {
      finished = true;
      let failure: JobFailed;
      if (e instanceof JobFailed) failure = e;
      else if (e instanceof RecordTooLargeError) failure = new JobFailed('ALGORITHM_ERROR', e.message);
      else {
        log.error({ err: e }, 'inference job failed on the runner side');
        failure = new JobFailed('INTERNAL_ERROR', runnerFailure(engine, e as Error));
      }
      if (!stopReason) say(`the job failed: ${failure.message}`);
      return end(failure);
    } finally {
      finished = true;
      clearTimeout(deadline);
      signal.removeEventListener('abort', onCancel);
      for (const m of members) m.client?.close();
      for (const m of members) await removeContainerLogged(engine, m.containerId, log);
      // The log streams end with their containers: their last lines are the job's too.
      await Promise.race([Promise.all(logsDone), delay(2000)]);
      if (isolated) await this.firewall.release(bridge);
      if (networkMade) await removeNetworkLogged(engine, network, log);
      await rm(modelDir, { recursive: true, force: true }).catch(() => undefined);
      releaseCapacity?.();
    }
  }

  async removeStrayJobs(storeId: string, keep: (arn: string) => boolean): Promise<number> {
    const { engine, logger } = this.opts;
    const jobs = new Set<string>();
    let removed = 0;
    for (const c of await engine.listContainers(`${LABEL_INFERENCE_STORE}=${storeId}`)) {
      const arn = c.labels[LABEL_INFERENCE_JOB];
      if (arn && keep(arn)) continue;
      await removeContainerLogged(engine, c.id, logger);
      removed += 1;
      if (arn) jobs.add(arn);
    }
    for (const arn of jobs) {
      await this.firewall.release(inferenceBridgeName(arn));
      await removeNetworkLogged(engine, inferenceNetworkName(arn), logger);
    }
    return removed;
  }

  /** GET /ping until 200, within the startup timeout. */
  private async waitForPing(m: Member, stopSignal: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.settings.inferencePingTimeoutMs;
    const until = Date.now() + timeoutMs;
    let last: number | undefined;
    while (!stopSignal.aborted) {
      last = (await m.client!.ping(Math.min(2000, timeoutMs))) ?? last;
      if (last === 200) return;
      if (Date.now() >= until) break;
      await delay(PING_INTERVAL_MS);
    }
    if (stopSignal.aborted) return;
    throw new JobFailed(
      'ALGORITHM_ERROR',
      `The inference container on ${m.host} did not answer GET /ping with 200 on port ${INFERENCE_PORT} within ${timeoutMs / 1000} seconds` +
        `${last !== undefined ? ` (its last answer was HTTP ${last})` : ' (it never answered)'}; CRML_INFERENCE_PING_TIMEOUT_SECONDS sets that time.`,
    );
  }

  private async invoke(m: Member, batch: RecordBatch, file: string, headers: Record<string, string>, maxBytes: number): Promise<Buffer> {
    const records = batch.records === 1 ? `record ${batch.firstRecord}` : `records ${batch.firstRecord}-${batch.firstRecord + batch.records - 1}`;
    let res;
    try {
      res = await m.client!.invoke(batch.body, headers, this.opts.settings.inferenceInvocationTimeoutMs, maxBytes);
    } catch (e) {
      throw new JobFailed('ALGORITHM_ERROR', `POST /invocations on ${m.host} failed for ${file} ${records}: ${(e as Error).message}`);
    }
    if (res.status < 200 || res.status > 299) {
      throw new JobFailed('ALGORITHM_ERROR', `POST /invocations on ${m.host} answered HTTP ${res.status} for ${file} ${records}: ${res.body.toString('utf8')}`);
    }
    if (res.truncated) {
      throw new JobFailed(
        'ALGORITHM_ERROR',
        `The answer of POST /invocations on ${m.host} for ${file} ${records} is larger than the output this job may still write (${maxBytes - 1} bytes).`,
      );
    }
    return res.body;
  }
}

async function writeAll(out: FileHandle, body: Buffer): Promise<void> {
  let offset = 0;
  while (offset < body.length) offset += (await out.write(body, offset)).bytesWritten;
}

/** The channel's files in a stable order (by path), as the output's order is per file. */
async function sortedFiles(root: string): Promise<ChannelFile[]> {
  const files: ChannelFile[] = [];
  for await (const f of walkChannelFolder(root)) files.push(f);
  return files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}

/** A tar stream of a folder this process wrote (files and folders only), entries under `prefix/`. */
function folderTar(root: string, prefix: string): Readable {
  const pack = tar.pack();
  void (async () => {
    try {
      pack.entry({ name: `${prefix}/`, type: 'directory', mode: 0o755 });
      for (const f of await sortedFiles(root)) {
        const entry = pack.entry({ name: `${prefix}/${f.relativePath.split(sep).join('/')}`, size: f.size, mode: 0o444 });
        await pipeline(createReadStream(f.hostPath), entry);
      }
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  return pack as unknown as Readable;
}

/** output.tar.gz of the job's output folder (entries relative to it), written to a temporary name, then renamed. */
async function packFolder(root: string, destination: string): Promise<void> {
  const partial = `${destination}.partial`;
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(partial, { flags: 'wx' }));
  try {
    for (const f of await sortedFiles(root)) {
      const entry = pack.entry({ name: f.relativePath.split(sep).join('/'), size: f.size, mode: 0o644 });
      await pipeline(createReadStream(f.hostPath), entry);
    }
    pack.finalize();
    await written;
    await rename(partial, destination);
  } catch (e) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(partial, { force: true });
    throw e;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
