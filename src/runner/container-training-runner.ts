import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Settings } from '../settings.js';
import type { RunEvents, RunResult, RunStatusCode, TrainingJobSpec, TrainingRunner } from './types.js';
import type { ContainerEngine } from './engine/container-engine.js';
import { ImagePullError, ImageResolver, type RegistryAuthProvider } from './image-resolver.js';
import { hostCapacity, limitsFor, type AppliedLimits, type HostCapacity } from './resource-limits.js';
import { configFiles, invocation, trainingEnvironment } from './training-environment.js';
import { optMlSkeleton } from './opt-ml-skeleton.js';
import { LogLineSplitter } from './log-line-splitter.js';
import { MetricExtractor } from './metric-extractor.js';
import { packageFolder, readFirstFile } from './artifact-packager.js';
import { hashChannel } from './channel-hash.js';

export interface ContainerTrainingRunnerOptions {
  engine: ContainerEngine;
  settings: Settings;
  logger: Logger;
  registryAuth?: RegistryAuthProvider;
  /** What this machine can give a container; measured by default. */
  host?: HostCapacity;
}

const FAILURE_CHARS = 1024;
const STDERR_TAIL_LINES = 10;
export const LABEL_TRAINED_MODEL = 'crml.trained-model';
export const LABEL_HOST = 'crml.host';
export const LABEL_MANAGED = 'crml.managed';

type StopReason = 'deadline' | 'cancel';

/**
 * Runs one trained model in one container (single instance): resolve the image, lay out /opt/ml through
 * the archive API, start with the instance type's limits and the hardening of contract §5, stream the
 * logs into lines and metric points, stop at the deadline or on cancel (SIGTERM, then SIGKILL after the
 * grace period), package the artifacts, and remove the container whatever happened.
 */
export class ContainerTrainingRunner implements TrainingRunner {
  constructor(private readonly opts: ContainerTrainingRunnerOptions) {}

  async run(spec: TrainingJobSpec, events: RunEvents, signal: AbortSignal): Promise<RunResult> {
    const { engine, settings } = this.opts;
    const log = this.opts.logger.child({ trainedModelArn: spec.trainedModelArn });
    const startedAt = new Date();
    const host = 'algo-1';
    const hosts = [host];
    let containerId: string | undefined;
    let stopReason: StopReason | undefined;
    let imageDigest: string | undefined;
    let limits: AppliedLimits | undefined;
    let exitCode: number | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (r: Partial<RunResult> & { succeeded: boolean }): RunResult => {
      const endedAt = new Date();
      return {
        timedOut: stopReason === 'deadline',
        cancelled: stopReason === 'cancel',
        imageDigest,
        exitCode,
        startedAt,
        endedAt,
        durationMs: endedAt.getTime() - startedAt.getTime(),
        ...r,
      };
    };
    const failed = (statusCode: RunStatusCode, message: string, extra: Partial<RunResult> = {}) =>
      finish({ succeeded: false, statusCode, message, ...extra });
    const runnerLine = (text: string) =>
      events.onLogLine({ time: new Date(), stream: 'stderr', host, text: `[cleanrooms-ml-local] ${text}` });

    if (signal.aborted) {
      stopReason = 'cancel';
      return failed('CANCELLED', 'The trained model was cancelled before it started.');
    }
    const channelHashes = hashChannel.all(spec.channels);
    try {
      try {
        limits = limitsFor(spec.instanceType, this.opts.host ?? hostCapacity(), settings.strictResources);
      } catch (e) {
        return failed('INTERNAL_ERROR', (e as Error).message);
      }
      if (limits.scaledDown) {
        log.warn({ limits }, limits.scaledDown);
        runnerLine(limits.scaledDown);
      }

      const resolver = new ImageResolver({ engine, policy: settings.pullPolicy, auth: this.opts.registryAuth, logger: log });
      let imageId: string;
      try {
        const image = await resolver.resolve(spec.imageUri, (p) => log.debug({ pull: p }, 'pull progress'));
        imageId = image.imageId;
        imageDigest = image.digest;
      } catch (e) {
        if (e instanceof ImagePullError) return failed('IMAGE_PULL_FAILED', e.message, { cause: e });
        throw e;
      }
      if (signal.aborted) {
        stopReason = 'cancel';
        return failed('CANCELLED', 'The trained model was cancelled before it started.');
      }

      const files = configFiles(spec, host, hosts);
      const { entrypoint, cmd } = invocation(spec);
      containerId = await engine.createContainer({
        image: imageId,
        hostname: host,
        entrypoint,
        cmd,
        env: trainingEnvironment(spec, host, hosts, limits, files),
        labels: { [LABEL_TRAINED_MODEL]: spec.trainedModelArn, [LABEL_HOST]: host, [LABEL_MANAGED]: 'true' },
        binds: spec.channels.map((c) => ({ hostPath: c.hostPath, containerPath: `/opt/ml/input/data/${c.channelName}`, readOnly: true })),
        // A single instance trains with no network at all (contract §5).
        networkMode: 'none',
        nanoCpus: Math.round(limits.vcpus * 1e9),
        memoryBytes: limits.memoryBytes,
        shmSizeBytes: limits.shmSizeBytes,
        pidsLimit: limits.pidsLimit,
        capDrop: ['ALL'],
        capAdd: [],
        securityOpt: ['no-new-privileges'],
        gpus: limits.gpus,
      });
      log.debug({ containerId }, 'container created');
      await engine.putArchive(containerId, '/', optMlSkeleton(files));
      await engine.startContainer(containerId);
      const logs = await engine.followLogs(containerId);
      await events.onStarted({ imageDigest: imageDigest!, containerIds: [containerId] });

      const stderrTail: string[] = [];
      const extractor = new MetricExtractor(spec.metricDefinitions);
      const consume = async (stream: Readable, name: 'stdout' | 'stderr') => {
        const splitter = new LogLineSplitter();
        const emit = (lines: string[]) => {
          for (const text of lines) {
            const time = new Date();
            events.onLogLine({ time, stream: name, host, text });
            if (name === 'stderr') {
              stderrTail.push(text);
              if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
            }
            for (const p of extractor.extract(text)) events.onMetric({ ...p, time, host });
          }
        };
        for await (const chunk of stream) emit(splitter.push(chunk as Buffer));
        emit(splitter.end());
      };
      const logsDone = Promise.all([consume(logs.stdout, 'stdout'), consume(logs.stderr, 'stderr')]);

      const id = containerId;
      const stop = (reason: StopReason) => {
        if (stopReason) return;
        stopReason = reason;
        log.info({ reason }, 'stopping the container');
        void engine.killContainer(id, 'SIGTERM').catch((e) => log.warn({ err: e }, 'SIGTERM failed'));
        timers.push(
          setTimeout(() => {
            void engine.killContainer(id, 'SIGKILL').catch((e) => log.warn({ err: e }, 'SIGKILL failed'));
          }, settings.stopGracePeriodMs),
        );
      };
      timers.push(setTimeout(() => stop('deadline'), spec.maxRuntimeInSeconds * 1000));
      const onAbort = () => stop('cancel');
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        exitCode = await engine.waitContainer(containerId);
      } finally {
        signal.removeEventListener('abort', onAbort);
        timers.forEach(clearTimeout);
      }
      await logsDone;
      const state = await engine.inspectContainer(containerId);

      // What the algorithm left is packaged whatever the outcome: a stopped run keeps its partial model.
      const artifacts = await this.packageArtifacts(containerId, spec.artifactsDir);
      const failureTar = await engine.getArchive(containerId, '/opt/ml/output/failure');
      const failureText = failureTar ? await readFirstFile(failureTar, FAILURE_CHARS) : undefined;
      const outcome = { ...artifacts };

      let result: RunResult;
      if (stopReason === 'cancel') {
        result = failed('CANCELLED', 'The trained model was cancelled; its containers were stopped.', outcome);
      } else if (stopReason === 'deadline') {
        result = failed(
          'MAX_RUNTIME_EXCEEDED',
          `The training job ran past its stoppingCondition.maxRuntimeInSeconds of ${spec.maxRuntimeInSeconds} seconds and was stopped.`,
          outcome,
        );
      } else if (state.oomKilled && exitCode !== 0) {
        result = failed(
          'OUT_OF_MEMORY',
          `The algorithm ran out of memory: the engine killed it at the ${spec.instanceType} limit of ${(limits.memoryBytes / 1024 ** 3).toFixed(1)} GiB.`,
          outcome,
        );
      } else if (exitCode === 0) {
        result = finish({ succeeded: true, ...outcome });
      } else {
        const message =
          failureText?.trim() ||
          [`Algorithm exited with code ${exitCode}.`, ...(stderrTail.length ? ['Last lines of stderr:', ...stderrTail] : [])]
            .join('\n')
            .slice(0, FAILURE_CHARS);
        result = failed('ALGORITHM_ERROR', message, outcome);
      }
      await this.writeManifest(spec, result, limits, await channelHashes);
      return result;
    } catch (e) {
      log.error({ err: e }, 'run failed on the runner side');
      const result = failed('INTERNAL_ERROR', `cleanrooms-ml-local failed to run the container: ${(e as Error).message}`, { cause: e });
      await this.writeManifest(spec, result, limits, await channelHashes.catch(() => ({}))).catch(() => undefined);
      return result;
    } finally {
      timers.forEach(clearTimeout);
      if (containerId) await engine.removeContainer(containerId).catch((e) => log.error({ err: e, containerId }, 'could not remove container'));
    }
  }

  private async packageArtifacts(containerId: string, dir: string): Promise<Partial<RunResult>> {
    const out: Partial<RunResult> = {};
    const model = await this.opts.engine.getArchive(containerId, '/opt/ml/model');
    if (model) out.modelArtifactPath = (await packageFolder(model, join(dir, 'model.tar.gz'))).path;
    const output = await this.opts.engine.getArchive(containerId, '/opt/ml/output/data');
    if (output) out.outputArtifactPath = (await packageFolder(output, join(dir, 'output.tar.gz'))).path;
    return out;
  }

  /** Enough to reproduce or compare a run: what ran, on what, with which limits, and how it ended. */
  private async writeManifest(
    spec: TrainingJobSpec,
    result: RunResult,
    limits: AppliedLimits | undefined,
    channelHashes: Record<string, string>,
  ): Promise<void> {
    const manifest = {
      trainedModelArn: spec.trainedModelArn,
      image: { uri: spec.imageUri, digest: result.imageDigest },
      request: spec,
      limits,
      channels: spec.channels.map((c) => ({ channelName: c.channelName, sha256: channelHashes[c.channelName] })),
      startedAt: result.startedAt.toISOString(),
      endedAt: result.endedAt.toISOString(),
      durationMs: result.durationMs,
      exitCode: result.exitCode,
      succeeded: result.succeeded,
      statusCode: result.statusCode,
      message: result.message,
    };
    await writeFile(join(spec.artifactsDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
}
