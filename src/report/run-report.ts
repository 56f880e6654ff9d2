import type { CleanRoomsMLLocal } from '../api/service.js';
import { resolveTrainedModelArn, trainedModelArtifacts } from '../api/artifacts.js';
import { ResourceNotFoundException } from '../api/generated/errors.js';
import type { TrainedModelStatus } from '../api/generated/types.js';
import { isTerminal } from '../api/trained-model-status.js';
import type { AppliedLimits } from '../runner/resource-limits.js';
import { logExcerpt, type LogExcerpt } from './log-excerpt.js';
import { metricSeries, type MetricSeries } from './metric-series.js';
import { readRunManifestFile } from './run-manifest-file.js';

/** A status the trained model had, and since when. */
import type { StatusChange } from '../api/trained-model-records.js';
export type { StatusChange };

/**
 * Everything a report shows of one run, as plain JSON (it is inlined into the HTML page as it is). Environment
 * values are never in it: they may be secrets, so only their names are.
 */
export interface RunReport {
  trainedModelArn: string;
  name: string;
  versionIdentifier?: string;
  status: TrainedModelStatus;
  statusCode?: string;
  statusMessage?: string;
  /** From the times the record keeps (created, containers started, ended): the store has no fuller history. */
  timeline: StatusChange[];
  createTime: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  instanceType?: string;
  instanceCount: number;
  volumeSizeInGB?: number;
  maxRuntimeInSeconds?: number;
  trainingInputMode?: string;
  limits?: AppliedLimits;
  exitCode?: number;
  hyperparameters: Record<string, string>;
  environmentNames: string[];
  channels: { channelName: string; mlInputChannelArn?: string; sha256?: string }[];
  image: { uri?: string; digest?: string };
  /** The files on this machine: model.tar.gz, output.tar.gz, manifest.json. */
  artifacts: string[];
  metrics: MetricSeries[];
  /** Absent when not asked for (a comparison shows no log, so it does not read one). */
  log?: LogExcerpt;
}

export interface RunReportOptions {
  versionIdentifier?: string;
  membershipIdentifier?: string;
  /** Log lines kept from the end of the run (default 100); false reads no log at all. */
  tailLines?: number | false;
}

/**
 * Gathers a trained model's report (an ARN, id or name; without a version identifier the latest version, as
 * GetTrainedModel answers) from the service — GetTrainedModel, its metrics and logs — and the run's manifest.json.
 * An unknown trained model or version is the API's ResourceNotFoundException.
 */
export async function collectRunReport(service: CleanRoomsMLLocal, trainedModel: string, opts: RunReportOptions = {}): Promise<RunReport> {
  const trainedModelArn = resolveTrainedModelArn(service, trainedModel);
  const record = service.trainedModels.version(trainedModelArn, opts.versionIdentifier);
  if (!record) throw new ResourceNotFoundException(`Trained model ${trainedModel} not found.`);
  const membershipIdentifier = opts.membershipIdentifier ?? record.body.membershipIdentifier;
  const request = { membershipIdentifier, trainedModelArn, versionIdentifier: opts.versionIdentifier };
  const model = await service.getTrainedModel(request);
  const run = record.body.run;
  const failed = model.status === 'CREATE_FAILED';
  const [points, log, manifestFile, artifacts] = await Promise.all([
    service.trainedModelMetrics(request),
    opts.tailLines === false ? undefined : logExcerpt(service.trainedModelLogs(request), { failed, tailLines: opts.tailLines }),
    run?.artifactsDir ? readRunManifestFile(run.artifactsDir) : undefined,
    trainedModelArtifacts(service, trainedModelArn, request),
  ]);
  const manifest = manifestFile?.manifest;
  const startedAt = manifest?.startedAt ?? run?.startedAt;
  const endedAt = manifest?.endedAt ?? run?.endedAt;
  const hashes = new Map((manifest?.channels ?? []).map((c) => [c.channelName, c.sha256]));
  const spec = run?.spec;
  return {
    trainedModelArn,
    name: model.name,
    versionIdentifier: model.versionIdentifier,
    status: model.status,
    statusCode: model.statusDetails?.statusCode,
    statusMessage: model.statusDetails?.message,
    timeline: record.body.statusHistory ?? timelineOf(model.status, model.createTime.toISOString(), model.updateTime.toISOString(), startedAt, endedAt),
    createTime: model.createTime.toISOString(),
    startedAt,
    endedAt,
    durationMs: manifest?.durationMs ?? durationOf(startedAt, endedAt, isTerminal(model.status)),
    instanceType: model.resourceConfig?.instanceType ?? spec?.instanceType,
    instanceCount: model.resourceConfig?.instanceCount ?? spec?.instanceCount ?? 1,
    volumeSizeInGB: model.resourceConfig?.volumeSizeInGB,
    maxRuntimeInSeconds: model.stoppingCondition?.maxRuntimeInSeconds ?? spec?.maxRuntimeInSeconds,
    trainingInputMode: model.trainingInputMode ?? spec?.trainingInputMode,
    limits: manifest?.limits ?? run?.limits,
    exitCode: manifest?.exitCode ?? run?.exitCode,
    hyperparameters: model.hyperparameters ?? {},
    environmentNames: Object.keys(model.environment ?? {}).sort(),
    channels: [
      ...model.dataChannels.map((c) => ({ channelName: c.channelName, mlInputChannelArn: c.mlInputChannelArn, sha256: hashes.get(c.channelName) })),
      ...(model.incrementalTrainingDataChannels ?? []).map((c) => ({ channelName: c.channelName, sha256: hashes.get(c.channelName) })),
    ],
    image: { uri: manifest?.image?.uri ?? spec?.imageUri, digest: model.trainingContainerImageDigest ?? manifest?.image?.digest },
    artifacts,
    metrics: metricSeries(points),
    log,
  };
}

/** For a record from before the history was kept: the statuses its times tell. */
function timelineOf(status: TrainedModelStatus, createTime: string, updateTime: string, startedAt?: string, endedAt?: string): StatusChange[] {
  const timeline: StatusChange[] = [{ status: 'CREATE_PENDING', time: createTime }];
  if (startedAt) timeline.push({ status: 'CREATE_IN_PROGRESS', time: startedAt });
  const last = timeline[timeline.length - 1]!;
  if (status !== last.status) timeline.push({ status, time: isTerminal(status) && endedAt ? endedAt : updateTime });
  return timeline;
}

/** A finished run's length; a run still going counts until now. */
function durationOf(startedAt: string | undefined, endedAt: string | undefined, finished: boolean): number | undefined {
  if (!startedAt) return undefined;
  const end = endedAt ? Date.parse(endedAt) : finished ? undefined : Date.now();
  return end === undefined ? undefined : Math.max(0, end - Date.parse(startedAt));
}
