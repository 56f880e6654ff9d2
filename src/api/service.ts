import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { defaultSettings, type Settings, type SettingsOverrides } from '../settings.js';
import type { TrainingRunner } from '../runner/types.js';
import type * as T from './generated/types.js';
import { validateInput } from './validation.js';
import { ValidationException } from './generated/errors.js';
import { Store } from './store.js';
import { TrainingCoordinator } from './training-coordinator.js';
import { reconcileMLInputChannels } from './ml-input-channel-reconcile.js';
import { TrainedModelRecords } from './trained-model-records.js';
import { operations, type OperationName } from './generated/model.js';
import type { ServiceContext } from './service-context.js';
import * as algorithms from './operations/configured-model-algorithms.js';
import * as associations from './operations/configured-model-algorithm-associations.js';
import * as channels from './operations/ml-input-channels.js';
import * as trainedModels from './operations/trained-models.js';
import * as mlConfigurations from './operations/ml-configurations.js';
import * as tags from './operations/tags.js';
import * as collaboration from './operations/collaboration.js';
import * as observability from './operations/trained-model-observability.js';
import { train, type TrainInput, type TrainResult } from './train.js';
import * as inferenceJobs from './operations/inference-jobs.js';
import * as exportJobs from './operations/export-jobs.js';
import * as inferenceObservability from './operations/inference-job-observability.js';
import { InferenceJobCoordinator } from './inference-job-coordinator.js';
import type { InferenceRunner } from '../inference/types.js';

export interface CleanRoomsMLLocalOptions {
  /** Settings, or just the ones that differ from the defaults. */
  settings?: SettingsOverrides;
  /** An open store; by default `<dataDir>/store.sqlite`. */
  store?: Store;
  /** The runner that trains; by default the Docker runner over the discovered engine, created on first use. */
  runner?: TrainingRunner | (() => Promise<TrainingRunner>);
  /** The runner of inference jobs; by default the Docker one over the discovered engine, created on first use. */
  inferenceRunner?: InferenceRunner | (() => Promise<InferenceRunner>);
  logger?: Logger;
  clock?: () => Date;
  /**
   * Take over, in the background, the runs of processes that died (default true). A short-lived reader
   * (a CLI `get`) turns it off; `reconciled` then resolves at once.
   */
  reconcile?: boolean;
  /** Told of every image pull's progress, per layer (the CLI draws it on a terminal, as the Docker CLI does). */
  onPullProgress?: (trainedModelArn: string, progress: { id?: string; status: string; progress?: string }) => void;
}

export type CreateMLInputChannelInput = channels.CreateMLInputChannelInput;

type Awaitable<V> = V | Promise<V>;

/** Every operation of the model by its SDK method name, as the operation modules implement it (checked here). */
type OperationHandlers = {
  [N in OperationName as Uncapitalize<N>]: (ctx: ServiceContext, input: T.OperationInputs[N]) => Awaitable<T.OperationOutputs[N]>;
};
const handlers: OperationHandlers = {
  ...algorithms,
  ...associations,
  ...channels,
  ...trainedModels,
  ...mlConfigurations,
  ...tags,
  ...collaboration,
  ...inferenceJobs,
  ...exportJobs,
};

/** The SDK's methods: an input that may be all optional may be left out. CreateMLInputChannel is written out below. */
export type OperationMethods = {
  [N in OperationName as Uncapitalize<N>]: object extends T.OperationInputs[N]
    ? (input?: T.OperationInputs[N]) => Promise<T.OperationOutputs[N]>
    : (input: T.OperationInputs[N]) => Promise<T.OperationOutputs[N]>;
};

/**
 * One method per operation of the generated table, each validating its input against the model and then
 * calling its implementation with the service's context: no hand-written wrapper per operation.
 */
function operationMethods(): abstract new () => Omit<OperationMethods, 'createMLInputChannel'> {
  abstract class Operations {}
  for (const name of Object.keys(operations) as OperationName[]) {
    const method = (name[0]!.toLowerCase() + name.slice(1)) as Uncapitalize<OperationName>;
    const handler = handlers[method] as (ctx: ServiceContext, input: unknown) => unknown;
    Object.defineProperty(Operations.prototype, method, {
      async value(this: { ctx: ServiceContext }, input: unknown) {
        return handler(this.ctx, validateInput(name, input));
      },
      writable: true,
      configurable: true,
    });
  }
  return Operations as unknown as abstract new () => Omit<OperationMethods, 'createMLInputChannel'>;
}

/**
 * AWS Clean Rooms ML's training API, local: the AWS SDK's method names and input/output shapes.
 * Every method validates its input against the service model first, exactly as the service does.
 */
export class CleanRoomsMLLocal extends operationMethods() {
  readonly settings: Settings;
  readonly store: Store;
  /** The trained-model records (what the CLI reads to follow a run and find its artifacts). */
  readonly trainedModels: TrainedModelRecords;
  readonly logger: Logger;
  /** Read by every operation method (operationMethods). */
  private readonly ctx: ServiceContext;
  private readonly training: TrainingCoordinator;
  /** Inference jobs of this store (what `crml artifacts` reads for a job's output). */
  readonly inference: InferenceJobCoordinator;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly runner: () => Promise<TrainingRunner>;
  /** The runner once something asked for it (close waits for its background work, and never makes one). */
  private runnerMade?: Promise<TrainingRunner>;
  /** Pull progress of one run, for the train call that started it. */
  private readonly pullListeners = new Map<string, (p: { id?: string; status: string; progress?: string }) => void>();
  /** Resolves once runs left by dead processes have been taken over (re-attached, finished or failed). */
  readonly reconciled: Promise<void>;

  constructor(options: CleanRoomsMLLocalOptions = {}) {
    super();
    this.settings = defaultSettings(options.settings);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.store = options.store ?? Store.open(join(this.settings.dataDir, 'store.sqlite'));
    const clock = options.clock ?? (() => new Date());
    const makeRunner = runnerFactory(options.runner, this.settings, this.logger);
    this.runner = () => (this.runnerMade ??= makeRunner());
    this.trainedModels = new TrainedModelRecords(this.store, this.settings.dataDir, clock);
    this.training = new TrainingCoordinator({
      store: this.store,
      records: this.trainedModels,
      settings: this.settings,
      logger: this.logger,
      clock,
      runner: this.runner,
      onPullProgress: (arn, p) => {
        options.onPullProgress?.(arn, p);
        this.pullListeners.get(arn)?.(p);
      },
    });
    this.inference = new InferenceJobCoordinator({
      store: this.store,
      settings: this.settings,
      logger: this.logger,
      clock,
      runner: inferenceRunnerFactory(options.inferenceRunner, this.settings, this.logger),
    });
    this.reconciled =
      options.reconcile === false
        ? Promise.resolve()
        : // Channels first (after this constructor, once ctx is set): they need no engine.
          Promise.resolve()
            .then(() => reconcileMLInputChannels(this.ctx))
            .then(() => this.training.reconcile())
            .then(() => this.inference.reconcile())
            .catch((e) => this.logger.error({ err: e }, 'reconciliation failed'));
    this.ctx = {
      store: this.store,
      settings: this.settings,
      logger: this.logger,
      training: this.training,
      inference: this.inference,
      trainedModels: this.trainedModels,
      clock,
      background: (work) => {
        const tracked = work.catch((e) => this.logger.error({ err: e }, 'background work failed')).finally(() => this.pending.delete(tracked));
        this.pending.add(tracked);
      },
    };
  }

  /**
   * Trains in one call: builds the image when given a folder, creates or reuses (by names derived from what
   * was given) the algorithm, association and channels, and creates the trained model. The run goes on in the
   * background: `waitForRuns(result.trainedModelArn)`. Bad values are the API's ValidationException.
   */
  async train(input: TrainInput): Promise<TrainResult> {
    return train(
      {
        service: this,
        buildImage: async (spec) => {
          const runner = await this.runner();
          if (!runner.buildImage) throw new ValidationException('This service\'s runner cannot build images: give imageUri instead of build.');
          return runner.buildImage(spec);
        },
        createTrainedModel: async (request, extras) => trainedModels.createTrainedModel(this.ctx, validateInput('CreateTrainedModel', request), extras),
        onPullProgress: (arn, listener) => {
          this.pullListeners.set(arn, listener);
          return () => this.pullListeners.delete(arn);
        },
      },
      input,
    );
  }

  /** Waits for the runs this process started (all of them, or one version of a trained model: '' is the base one). */
  async waitForRuns(trainedModelArn?: string, versionIdentifier = ''): Promise<void> {
    await this.training.idle(trainedModelArn, versionIdentifier);
  }

  /** Waits for the inference jobs this process started (all of them, or one). */
  async waitForInferenceJobs(trainedModelInferenceJobArn?: string): Promise<void> {
    await this.inference.idle(trainedModelInferenceJobArn);
  }

  /**
   * An inference job's container log lines, in order; with `asAccountId` of another account, exactly what the
   * association's trainedModelInferenceJobs.containerLogs policy shows it.
   */
  inferenceJobLogs(input: inferenceObservability.InferenceJobLogsInput): AsyncGenerator<observability.TrainedModelLogLine> {
    return inferenceObservability.inferenceJobLogs(this.ctx, input);
  }

  /** Waits for background work of this process (channel queries) to settle. */
  async waitForChannels(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * Starts making the runner (finding the engine) now, for a caller about to run something: the engine's answer
   * then comes while the request is checked and stored. A failure waits for the call that needs the runner.
   */
  prepareRunner(): void {
    this.runner().catch(() => undefined);
  }

  /** Waits for this process's runs to end, then closes the store. */
  async close(): Promise<void> {
    await this.reconciled;
    await this.waitForChannels();
    await this.training.idle();
    await this.inference.idle();
    // A skeleton image being made: its builder container goes before the process does.
    if (this.runnerMade) await (await this.runnerMade.catch(() => undefined))?.settled?.();
    this.store.close();
  }

  /**
   * A trained model's container log lines, in order (an async iterator; `follow` keeps it open until the run
   * ends). With `asAccountId` of another account, exactly what the association's privacy policy shows it.
   */
  trainedModelLogs(input: observability.TrainedModelLogsInput): AsyncGenerator<observability.TrainedModelLogLine> {
    return observability.trainedModelLogs(this.ctx, input);
  }

  /** The same lines a store page at a time: for a reader of millions of lines. */
  trainedModelLogPages(input: observability.TrainedModelLogsInput): AsyncGenerator<observability.TrainedModelLogPageLine[]> {
    return observability.trainedModelLogPages(this.ctx, input);
  }

  /** The same lines as the bytes `crml logs` prints (`<time> <host> <stream> <text>\n` each), a page at a time. */
  trainedModelLogText(input: observability.TrainedModelLogsInput): AsyncGenerator<Buffer> {
    return observability.trainedModelLogText(this.ctx, input);
  }

  /** A trained model's metric data points; for another account, with the policy's noise, and only once it ended. */
  async trainedModelMetrics(
    input: Omit<observability.TrainedModelLogsInput, 'follow' | 'host' | 'pollIntervalMs'>,
  ): Promise<observability.TrainedModelMetricPoint[]> {
    return observability.trainedModelMetrics(this.ctx, input);
  }

  /** CreateMLInputChannel with our localDataSource, an extension the model does not know. `caller`: the HTTP
   * endpoint passes the folders it may serve (see channels.ChannelCaller); in-process callers pass none. */
  async createMLInputChannel(input: CreateMLInputChannelInput, caller?: channels.ChannelCaller): Promise<T.CreateMLInputChannelResponse> {
    // The local data source is our extension to the model: validate the AWS part, then put it back.
    const localDataSource = (input as Partial<CreateMLInputChannelInput>)?.inputChannel?.dataSource?.localDataSource;
    const valid = validateInput('CreateMLInputChannel', input) as CreateMLInputChannelInput;
    if (localDataSource !== undefined) valid.inputChannel.dataSource.localDataSource = localDataSource;
    return channels.createMLInputChannel(this.ctx, valid, caller);
  }
}

function runnerFactory(
  runner: CleanRoomsMLLocalOptions['runner'],
  settings: Settings,
  logger: Logger,
): () => Promise<TrainingRunner> {
  if (typeof runner === 'function') return runner;
  if (runner) return async () => runner;
  let created: Promise<TrainingRunner> | undefined;
  return () =>
    (created ??= import('../runner/default-runner.js').then((m) => m.createDefaultRunner({ settings, logger })));
}

function inferenceRunnerFactory(
  runner: CleanRoomsMLLocalOptions['inferenceRunner'],
  settings: Settings,
  logger: Logger,
): () => Promise<InferenceRunner> {
  if (typeof runner === 'function') return runner;
  if (runner) return async () => runner;
  let created: Promise<InferenceRunner> | undefined;
  return () =>
    (created ??= import('../inference/default-inference-runner.js').then((m) => m.createDefaultInferenceRunner({ settings, logger })));
}
