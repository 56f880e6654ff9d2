import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { defaultSettings, type Settings, type SettingsOverrides } from '../settings.js';
import type { TrainingRunner } from '../runner/types.js';
import type * as T from './generated/types.js';
import { validateInput } from './validation.js';
import { Store } from './store.js';
import { TrainingCoordinator } from './training-coordinator.js';
import { reconcileMLInputChannels } from './ml-input-channel-reconcile.js';
import type { ServiceContext } from './service-context.js';
import * as algorithms from './operations/configured-model-algorithms.js';
import * as associations from './operations/configured-model-algorithm-associations.js';
import * as channels from './operations/ml-input-channels.js';
import * as trainedModels from './operations/trained-models.js';
import * as mlConfigurations from './operations/ml-configurations.js';
import * as tags from './operations/tags.js';
import * as collaboration from './operations/collaboration.js';
import * as observability from './operations/trained-model-observability.js';

export interface CleanRoomsMLLocalOptions {
  /** Settings, or just the ones that differ from the defaults. */
  settings?: SettingsOverrides;
  /** An open store; by default `<dataDir>/store.sqlite`. */
  store?: Store;
  /** The runner that trains; by default the Docker runner over the discovered engine, created on first use. */
  runner?: TrainingRunner | (() => Promise<TrainingRunner>);
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

/**
 * AWS Clean Rooms ML's training API, local: the AWS SDK's method names and input/output shapes.
 * Every method validates its input against the service model first, exactly as the service does.
 */
export class CleanRoomsMLLocal {
  readonly settings: Settings;
  readonly store: Store;
  readonly logger: Logger;
  private readonly ctx: ServiceContext;
  private readonly training: TrainingCoordinator;
  private readonly pending = new Set<Promise<unknown>>();
  /** Resolves once runs left by dead processes have been taken over (re-attached, finished or failed). */
  readonly reconciled: Promise<void>;

  constructor(options: CleanRoomsMLLocalOptions = {}) {
    this.settings = defaultSettings(options.settings);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.store = options.store ?? Store.open(join(this.settings.dataDir, 'store.sqlite'));
    const clock = options.clock ?? (() => new Date());
    this.training = new TrainingCoordinator({
      store: this.store,
      settings: this.settings,
      logger: this.logger,
      clock,
      runner: runnerFactory(options.runner, this.settings, this.logger),
      onPullProgress: options.onPullProgress,
    });
    this.reconciled =
      options.reconcile === false
        ? Promise.resolve()
        : // Channels first (after this constructor, once ctx is set): they need no engine.
          Promise.resolve().then(() => reconcileMLInputChannels(this.ctx)).then(() => this.training.reconcile()).catch((e) => this.logger.error({ err: e }, 'reconciliation failed'));
    this.ctx = {
      store: this.store,
      settings: this.settings,
      logger: this.logger,
      training: this.training,
      clock,
      background: (work) => {
        const tracked = work.catch((e) => this.logger.error({ err: e }, 'background work failed')).finally(() => this.pending.delete(tracked));
        this.pending.add(tracked);
      },
    };
  }

  /** Waits for the runs this process started (all of them, or one trained model's). */
  async waitForRuns(trainedModelArn?: string): Promise<void> {
    await this.training.idle(trainedModelArn);
  }

  /** Waits for background work of this process (channel queries) to settle. */
  async waitForChannels(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Waits for this process's runs to end, then closes the store. */
  async close(): Promise<void> {
    await this.reconciled;
    await this.waitForChannels();
    await this.training.idle();
    this.store.close();
  }

  /**
   * A trained model's container log lines, in order (an async iterator; `follow` keeps it open until the run
   * ends). With `asAccountId` of another account, exactly what the association's privacy policy shows it.
   */
  trainedModelLogs(input: observability.TrainedModelLogsInput): AsyncGenerator<observability.TrainedModelLogLine> {
    return observability.trainedModelLogs(this.ctx, input);
  }

  /** A trained model's metric data points; for another account, with the policy's noise, and only once it ended. */
  async trainedModelMetrics(
    input: Omit<observability.TrainedModelLogsInput, 'follow' | 'host' | 'pollIntervalMs'>,
  ): Promise<observability.TrainedModelMetricPoint[]> {
    return observability.trainedModelMetrics(this.ctx, input);
  }

  async createConfiguredModelAlgorithm(input: T.CreateConfiguredModelAlgorithmRequest): Promise<T.CreateConfiguredModelAlgorithmResponse> {
    return algorithms.createConfiguredModelAlgorithm(this.ctx, validateInput('CreateConfiguredModelAlgorithm', input));
  }
  async getConfiguredModelAlgorithm(input: T.GetConfiguredModelAlgorithmRequest): Promise<T.GetConfiguredModelAlgorithmResponse> {
    return algorithms.getConfiguredModelAlgorithm(this.ctx, validateInput('GetConfiguredModelAlgorithm', input));
  }
  async listConfiguredModelAlgorithms(input: T.ListConfiguredModelAlgorithmsRequest = {}): Promise<T.ListConfiguredModelAlgorithmsResponse> {
    return algorithms.listConfiguredModelAlgorithms(this.ctx, validateInput('ListConfiguredModelAlgorithms', input));
  }
  async deleteConfiguredModelAlgorithm(input: T.DeleteConfiguredModelAlgorithmRequest): Promise<void> {
    algorithms.deleteConfiguredModelAlgorithm(this.ctx, validateInput('DeleteConfiguredModelAlgorithm', input));
  }

  async createConfiguredModelAlgorithmAssociation(
    input: T.CreateConfiguredModelAlgorithmAssociationRequest,
  ): Promise<T.CreateConfiguredModelAlgorithmAssociationResponse> {
    return associations.createConfiguredModelAlgorithmAssociation(
      this.ctx,
      validateInput('CreateConfiguredModelAlgorithmAssociation', input),
    );
  }
  async getConfiguredModelAlgorithmAssociation(
    input: T.GetConfiguredModelAlgorithmAssociationRequest,
  ): Promise<T.GetConfiguredModelAlgorithmAssociationResponse> {
    return associations.getConfiguredModelAlgorithmAssociation(this.ctx, validateInput('GetConfiguredModelAlgorithmAssociation', input));
  }
  async listConfiguredModelAlgorithmAssociations(
    input: T.ListConfiguredModelAlgorithmAssociationsRequest,
  ): Promise<T.ListConfiguredModelAlgorithmAssociationsResponse> {
    return associations.listConfiguredModelAlgorithmAssociations(this.ctx, validateInput('ListConfiguredModelAlgorithmAssociations', input));
  }
  async deleteConfiguredModelAlgorithmAssociation(input: T.DeleteConfiguredModelAlgorithmAssociationRequest): Promise<void> {
    associations.deleteConfiguredModelAlgorithmAssociation(this.ctx, validateInput('DeleteConfiguredModelAlgorithmAssociation', input));
  }

  /** `caller`: the HTTP endpoint passes the folders it may serve (see channels.ChannelCaller); in-process callers pass none. */
  async createMLInputChannel(input: CreateMLInputChannelInput, caller?: channels.ChannelCaller): Promise<T.CreateMLInputChannelResponse> {
    // The local data source is our extension to the model: validate the AWS part, then put it back.
    const localDataSource = (input as Partial<CreateMLInputChannelInput>)?.inputChannel?.dataSource?.localDataSource;
    const valid = validateInput('CreateMLInputChannel', input) as CreateMLInputChannelInput;
    if (localDataSource !== undefined) valid.inputChannel.dataSource.localDataSource = localDataSource;
    return channels.createMLInputChannel(this.ctx, valid, caller);
  }
  async getMLInputChannel(input: T.GetMLInputChannelRequest): Promise<T.GetMLInputChannelResponse> {
    return channels.getMLInputChannel(this.ctx, validateInput('GetMLInputChannel', input));
  }
  async listMLInputChannels(input: T.ListMLInputChannelsRequest): Promise<T.ListMLInputChannelsResponse> {
    return channels.listMLInputChannels(this.ctx, validateInput('ListMLInputChannels', input));
  }
  async deleteMLInputChannelData(input: T.DeleteMLInputChannelDataRequest): Promise<void> {
    await channels.deleteMLInputChannelData(this.ctx, validateInput('DeleteMLInputChannelData', input));
  }

  async createTrainedModel(input: T.CreateTrainedModelRequest): Promise<T.CreateTrainedModelResponse> {
    return trainedModels.createTrainedModel(this.ctx, validateInput('CreateTrainedModel', input));
  }
  async getTrainedModel(input: T.GetTrainedModelRequest): Promise<T.GetTrainedModelResponse> {
    return trainedModels.getTrainedModel(this.ctx, validateInput('GetTrainedModel', input));
  }
  async listTrainedModels(input: T.ListTrainedModelsRequest): Promise<T.ListTrainedModelsResponse> {
    return trainedModels.listTrainedModels(this.ctx, validateInput('ListTrainedModels', input));
  }
  async listTrainedModelVersions(input: T.ListTrainedModelVersionsRequest): Promise<T.ListTrainedModelVersionsResponse> {
    return trainedModels.listTrainedModelVersions(this.ctx, validateInput('ListTrainedModelVersions', input));
  }
  async cancelTrainedModel(input: T.CancelTrainedModelRequest): Promise<void> {
    trainedModels.cancelTrainedModel(this.ctx, validateInput('CancelTrainedModel', input));
  }
  async deleteTrainedModelOutput(input: T.DeleteTrainedModelOutputRequest): Promise<void> {
    trainedModels.deleteTrainedModelOutput(this.ctx, validateInput('DeleteTrainedModelOutput', input));
  }

  async putMLConfiguration(input: T.PutMLConfigurationRequest): Promise<void> {
    mlConfigurations.putMLConfiguration(this.ctx, validateInput('PutMLConfiguration', input));
  }
  async getMLConfiguration(input: T.GetMLConfigurationRequest): Promise<T.GetMLConfigurationResponse> {
    return mlConfigurations.getMLConfiguration(this.ctx, validateInput('GetMLConfiguration', input));
  }
  async deleteMLConfiguration(input: T.DeleteMLConfigurationRequest): Promise<void> {
    mlConfigurations.deleteMLConfiguration(this.ctx, validateInput('DeleteMLConfiguration', input));
  }

  async tagResource(input: T.TagResourceRequest): Promise<T.TagResourceResponse> {
    return tags.tagResource(this.ctx, validateInput('TagResource', input));
  }
  async untagResource(input: T.UntagResourceRequest): Promise<T.UntagResourceResponse> {
    return tags.untagResource(this.ctx, validateInput('UntagResource', input));
  }
  async listTagsForResource(input: T.ListTagsForResourceRequest): Promise<T.ListTagsForResourceResponse> {
    return tags.listTagsForResource(this.ctx, validateInput('ListTagsForResource', input));
  }

  async getCollaborationTrainedModel(input: T.GetCollaborationTrainedModelRequest): Promise<T.GetCollaborationTrainedModelResponse> {
    return collaboration.getCollaborationTrainedModel(this.ctx, validateInput('GetCollaborationTrainedModel', input));
  }
  async listCollaborationTrainedModels(input: T.ListCollaborationTrainedModelsRequest): Promise<T.ListCollaborationTrainedModelsResponse> {
    return collaboration.listCollaborationTrainedModels(this.ctx, validateInput('ListCollaborationTrainedModels', input));
  }
  async getCollaborationConfiguredModelAlgorithmAssociation(
    input: T.GetCollaborationConfiguredModelAlgorithmAssociationRequest,
  ): Promise<T.GetCollaborationConfiguredModelAlgorithmAssociationResponse> {
    return collaboration.getCollaborationConfiguredModelAlgorithmAssociation(
      this.ctx,
      validateInput('GetCollaborationConfiguredModelAlgorithmAssociation', input),
    );
  }
  async listCollaborationConfiguredModelAlgorithmAssociations(
    input: T.ListCollaborationConfiguredModelAlgorithmAssociationsRequest,
  ): Promise<T.ListCollaborationConfiguredModelAlgorithmAssociationsResponse> {
    return collaboration.listCollaborationConfiguredModelAlgorithmAssociations(
      this.ctx,
      validateInput('ListCollaborationConfiguredModelAlgorithmAssociations', input),
    );
  }
  async getCollaborationMLInputChannel(input: T.GetCollaborationMLInputChannelRequest): Promise<T.GetCollaborationMLInputChannelResponse> {
    return collaboration.getCollaborationMLInputChannel(this.ctx, validateInput('GetCollaborationMLInputChannel', input));
  }
  async listCollaborationMLInputChannels(
    input: T.ListCollaborationMLInputChannelsRequest,
  ): Promise<T.ListCollaborationMLInputChannelsResponse> {
    return collaboration.listCollaborationMLInputChannels(this.ctx, validateInput('ListCollaborationMLInputChannels', input));
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
