import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { CleanRoomsMLLocal } from '../api/service.js';
import type { TrainChannel, TrainInput, TrainProgress } from '../api/train.js';
import { thisProcess } from '../api/run-owner.js';
import type * as T from '../api/generated/types.js';
import { settingsFromEnv } from '../settings.js';
import { DockerTrainingRunner } from '../runner/docker-training-runner.js';
import { SqliteCapacityLedger } from '../runner/capacity-ledger.js';
import { createRegistryAuthProvider } from '../runner/registry-auth/index.js';
import { testcontainersEngine, testcontainersSession } from './testcontainers-engine.js';
import { OWNER_FILE, TEMP_PREFIX, ownerLabels, sweepDeadTestProcesses, type SweepResult } from './test-process-owner.js';
import { removeAtExit, removeNow } from './temp-folders.js';
import { StartedTrainingJob } from './started-training-job.js';
import type { TrainingResult } from './training-result.js';

/**
 * A channel: a local folder (mounted read-only, as `--local-path`) or file, or a protected query over the
 * workspace's tables (`{ sql, resultFormat? }`).
 */
export type TrainingChannel = TrainChannel;

interface BuildRequest {
  context: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  tag?: string;
}

let capacityLedger: SqliteCapacityLedger | undefined;

/**
 * One budget of the host's CPUs and memory for every TrainingContainer on this machine, whichever process or data
 * folder it has (each has a folder of its own), so that parallel test files never oversubscribe it.
 */
function sharedCapacityLedger(): SqliteCapacityLedger {
  capacityLedger ??= SqliteCapacityLedger.open(join(tmpdir(), 'crml-tc-capacity.sqlite'));
  return capacityLedger;
}

/**
 * A Clean Rooms ML training run for tests, in testcontainers' idiom: configure fluently, then `start()` (a
 * running job: `logs()`, `stop()`, `result()`, `await using`) or `run()` (its result). It goes through the
 * product's own path (CreateTrainedModel and the Docker runner) on testcontainers' engine, with a temporary
 * data folder of its own.
 */
export class TrainingContainer {
  private image?: string;
  private build?: BuildRequest;
  private readonly hyperparameters: Record<string, string> = {};
  private readonly environment: Record<string, string> = {};
  private readonly channels: Record<string, TrainingChannel> = {};
  private readonly metricDefinitions: T.MetricDefinition[] = [];
  private readonly labels: Record<string, string> = {};
  private name?: string;
  private instanceType?: string;
  private instanceCount?: number;
  private inputMode?: T.TrainingInputMode;
  private maxRuntimeInSeconds?: number;
  private entrypoint?: string[];
  private arguments?: string[];
  private privacyConfiguration?: T.PrivacyConfiguration;
  private logger?: Logger;
  private onProgress?: (e: TrainProgress) => void;

  /** A training image by reference (`my-algo:dev`, an ECR URI, `repo@sha256:…`), pulled as `CRML_PULL_POLICY` says. */
  constructor(image: string) {
    if (!image?.trim()) throw new TypeError('TrainingContainer needs an image reference, such as my-algo:dev');
    this.image = image;
  }

  /** A training image built from a folder with a Dockerfile, through the engine's build API (as CleanRoomsMLLocal.train builds). */
  static fromDockerfile(context: string, dockerfile = 'Dockerfile'): TrainingContainer {
    const c = new TrainingContainer(context);
    c.image = undefined;
    c.build = { context: resolve(context), dockerfile, buildArgs: {} };
    return c;
  }

  /**
   * Removes what TrainingContainers of dead processes on this machine left (containers, networks, temporary
   * folders), as every start() does first: for a suite's global setup or teardown.
   */
  static async removeLeftovers(logger: Logger = pino({ level: 'warn' }, pino.destination(2))): Promise<SweepResult> {
    const tc = await testcontainersSession();
    return sweepDeadTestProcesses({ engine: testcontainersEngine(tc, {}), dockerode: tc.dockerode, log: logger });
  }

  /** Build arguments (`BASE_IMAGE`, …); only for fromDockerfile. */
  withBuildArgs(args: Record<string, string>): this {
    if (!this.build) throw new TypeError('withBuildArgs is for TrainingContainer.fromDockerfile(); this one runs a given image');
    Object.assign(this.build.buildArgs, args);
    return this;
  }

  /** The tag the built image gets (default: `crml-build/<folder>-<hash>:latest`, one per folder, so a rebuild reuses the engine's cache). */
  withImageTag(tag: string): this {
    if (!this.build) throw new TypeError('withImageTag is for TrainingContainer.fromDockerfile(); this one runs a given image');
    this.build.tag = tag;
    return this;
  }

  /** The trained model's name (TRAINING_JOB_NAME); by default one from the time. */
  withName(name: string): this {
    this.name = name;
    return this;
  }

  /** Hyperparameters, added to those given before; numbers and booleans are written as text, as AWS takes them. */
  withHyperparameters(hyperparameters: Record<string, string | number | boolean>): this {
    for (const [k, v] of Object.entries(hyperparameters)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) {
        throw new TypeError(`Hyperparameter ${k} must be a string, number or boolean (AWS takes them as text), got ${v === null ? 'null' : typeof v}`);
      }
      this.hyperparameters[k] = String(v);
    }
    return this;
  }

  withEnvironment(environment: Record<string, string>): this {
    Object.assign(this.environment, environment);
    return this;
  }

  /** A data channel: `/opt/ml/input/data/<name>` from a local folder, or from a protected query (`{ sql }`). */
  withChannel(name: string, source: TrainingChannel): this {
    this.channels[name] = typeof source === 'string' ? resolve(source) : 'path' in source ? { path: resolve(source.path) } : source;
    return this;
  }

  withInstanceType(instanceType: string): this {
    this.instanceType = instanceType;
    return this;
  }

  withInstanceCount(instanceCount: number): this {
    this.instanceCount = instanceCount;
    return this;
  }

  withInputMode(inputMode: T.TrainingInputMode): this {
    this.inputMode = inputMode;
    return this;
  }

  /** stoppingCondition.maxRuntimeInSeconds: SIGTERM then, SIGKILL after the grace period. */
  withMaxRuntime(seconds: number): this {
    this.maxRuntimeInSeconds = seconds;
    return this;
  }

  withMetricDefinitions(definitions: T.MetricDefinition[]): this {
    this.metricDefinitions.push(...definitions);
    return this;
  }

  /** One metric definition: a name and a (Python-syntax) regex whose first group is the value. */
  withMetric(name: string, regex: string): this {
    return this.withMetricDefinitions([{ name, regex }]);
  }

  /** The algorithm's entrypoint (trainingContainerConfig.entrypoint) instead of the image's. */
  withEntrypoint(entrypoint: string[]): this {
    this.entrypoint = entrypoint;
    return this;
  }

  /** The algorithm's arguments (trainingContainerConfig.arguments), as testcontainers' withCommand. */
  withCommand(args: string[]): this {
    this.arguments = args;
    return this;
  }

  /** The association's privacyConfiguration (what other accounts would see). */
  withPrivacyConfiguration(privacyConfiguration: T.PrivacyConfiguration): this {
    this.privacyConfiguration = privacyConfiguration;
    return this;
  }

  /** Extra labels on every container and network of the run (keys starting `crml.` are the runner's own: refused). */
  withLabels(labels: Record<string, string>): this {
    Object.assign(this.labels, labels);
    return this;
  }

  /** Told of each line of the image build and each image pull's progress. */
  withProgress(onProgress: (e: TrainProgress) => void): this {
    this.onProgress = onProgress;
    return this;
  }

  /** The runner's own log (pino); by default warnings and errors on stderr, at `CRML_LOG_LEVEL`. */
  withLogger(logger: Logger): this {
    this.logger = logger;
    return this;
  }

  /**
   * Starts the run: first removes what dead test processes left (containers, networks and folders by their
   * labels), then creates the trained model in a data folder of its own. Resolves once the run is accepted.
   */
  async start(): Promise<StartedTrainingJob> {
    const envSettings = settingsFromEnv();
    const logger = this.logger ?? pino({ level: envSettings.logLevel }, pino.destination(2));
    const root = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
    removeAtExit(root);
    let service: CleanRoomsMLLocal | undefined;
    try {
      await writeFile(join(root, OWNER_FILE), JSON.stringify(thisProcess()));
      const tc = await testcontainersSession();
      const engine = testcontainersEngine(tc, ownerLabels(root));
      await sweepDeadTestProcesses({ engine, dockerode: tc.dockerode, log: logger });
      const settings = { ...envSettings, dataDir: join(root, 'data') };
      const runner = new DockerTrainingRunner({
        engine,
        settings,
        logger,
        registryAuth: createRegistryAuthProvider({
          logger,
          explicit: settings.registryCredentials,
          dockerConfigPath: settings.dockerConfigPath,
          ecr: { endpoint: settings.ecr.endpoint, registries: settings.ecr.registries },
        }),
        capacityLedger: sharedCapacityLedger(),
      });
      service = new CleanRoomsMLLocal({ settings, runner, logger });
      await service.reconciled;
      const { trainedModelArn, imageUri } = await service.train(this.trainInput());
      return new StartedTrainingJob({ service, trainedModelArn, imageUri, root });
    } catch (e) {
      await service?.close().catch(() => undefined);
      await removeNow(root);
      throw e;
    }
  }

  /** Starts the run and resolves with its result once it ended (its extracted files live until the result is disposed). */
  async run(): Promise<TrainingResult> {
    const job = await this.start();
    return job.finish();
  }

  private trainInput(): TrainInput {
    return {
      ...(this.build ? { build: this.build } : { imageUri: this.image! }),
      channels: this.channels,
      name: this.name,
      hyperparameters: this.hyperparameters,
      environment: this.environment,
      instanceType: this.instanceType,
      instanceCount: this.instanceCount,
      inputMode: this.inputMode,
      maxRuntimeInSeconds: this.maxRuntimeInSeconds,
      metricDefinitions: this.metricDefinitions.length ? this.metricDefinitions : undefined,
      entrypoint: this.entrypoint,
      arguments: this.arguments,
      privacyConfiguration: this.privacyConfiguration,
      labels: Object.keys(this.labels).length ? this.labels : undefined,
      onProgress: this.onProgress,
    };
  }
}
