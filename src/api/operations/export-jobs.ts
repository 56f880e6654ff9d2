import { constants, existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type * as T from '../generated/types.js';
import { ConflictException, ValidationException } from '../generated/errors.js';
import { resourceIdOfArn } from '../arns.js';
import { page } from '../pagination.js';
import { toOutput } from '../shape-output.js';
import { assertCollaboration, assertMembership, createdNow, nowIso, type ServiceContext, type Stored } from '../service-context.js';
import { maxArtifactBytes } from '../../privacy/index.js';
import { getAssociationRecord } from './configured-model-algorithm-associations.js';
import { getTrainedModelRecord } from './trained-models.js';

export const EXPORT_JOB_KIND = 'trained-model-export-job';

export type ExportJobRecord = Stored<T.CollaborationTrainedModelExportJobSummary> & {
  /** Where the files went, and which. */
  destination: string;
  files: string[];
};

/**
 * Where an export puts the receiving member's files: one folder per member under the data folder, then per
 * trained model (and version) and export name: `<dataDir>/exports/<accountId>/<trained model id>[/<version>]/<name>/`
 * (decided: the receiver's S3 bucket, locally).
 */
export function exportDestination(ctx: ServiceContext, accountId: string, trainedModelArn: string, versionId: string | undefined, name: string): string {
  return join(ctx.settings.dataDir, 'exports', accountId, resourceIdOfArn(trainedModelArn), ...(versionId ? [versionId] : []), encodeURIComponent(name));
}

/**
 * StartTrainedModelExportJob: copies what the association's trainedModelExports.filesToExport allows (MODEL is
 * model.tar.gz, OUTPUT output.tar.gz) into the receiving member's folder. Refused at once, with what was too
 * much, when the files together are over maxSize; an association with no trainedModelExports policy exports
 * nothing (decided: a ValidationException naming the policy).
 */
export function startTrainedModelExportJob(ctx: ServiceContext, input: T.StartTrainedModelExportJobRequest): void {
  const membershipId = input.membershipIdentifier;
  assertMembership(ctx, membershipId);
  const model = getTrainedModelRecord(ctx, membershipId, input.trainedModelArn, input.trainedModelVersionIdentifier);
  const which = `Trained model ${input.trainedModelArn}${model.versionIdentifier ? ` version ${model.versionIdentifier}` : ''}`;
  if (model.status !== 'ACTIVE') throw new ConflictException(`${which} is ${model.status}; only an ACTIVE trained model can be exported.`);
  const association = getAssociationRecord(ctx, membershipId, model.configuredModelAlgorithmAssociationArn);
  const policy = association.privacyConfiguration?.policies?.trainedModelExports;
  if (!policy) {
    throw new ValidationException(
      `Association ${association.configuredModelAlgorithmAssociationArn} allows no exports: its privacyConfiguration.policies.trainedModelExports is not set.`,
    );
  }
  const available: Record<T.TrainedModelExportFileType, string | undefined> = { MODEL: model.run?.modelArtifactPath, OUTPUT: model.run?.outputArtifactPath };
  const files = [...new Set(policy.filesToExport)].flatMap((type) => {
    const path = available[type];
    return path && existsSync(path) ? [path] : [];
  });
  if (files.length === 0) {
    throw new ConflictException(`${which} has none of the files its association allows to export (${policy.filesToExport.join(', ')}).`);
  }
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  const limit = maxArtifactBytes(policy.maxSize)!;
  if (bytes > limit) {
    throw new ValidationException(
      `The files to export (${files.map((f) => basename(f)).join(', ')}) are ${bytes} bytes, more than the association's ` +
        `privacyConfiguration.policies.trainedModelExports.maxSize of ${policy.maxSize.value} ${policy.maxSize.unit} (${limit} bytes).`,
    );
  }
  const versionId = model.versionIdentifier;
  const arn = `${input.trainedModelArn}#export/${versionId ?? 'base'}/${input.name}`;
  if (ctx.store.get(EXPORT_JOB_KIND, arn)) {
    throw new ConflictException(`${which} already has an export job named ${input.name}.`);
  }
  const receiver = input.outputConfiguration.members[0]!.accountId;
  const destination = exportDestination(ctx, receiver, input.trainedModelArn, versionId, input.name);
  const body: ExportJobRecord = {
    ...createdNow(ctx),
    name: input.name,
    description: input.description,
    outputConfiguration: input.outputConfiguration,
    status: 'CREATE_PENDING',
    creatorAccountId: ctx.settings.accountId,
    trainedModelArn: input.trainedModelArn,
    trainedModelVersionIdentifier: versionId,
    membershipIdentifier: membershipId,
    collaborationIdentifier: ctx.settings.collaborationId,
    destination,
    files: files.map((f) => basename(f)),
  };
  ctx.store.insert({ kind: EXPORT_JOB_KIND, arn, membershipId, status: body.status, body });
  ctx.background(copyExport(ctx, arn, files, destination));
}

async function copyExport(ctx: ServiceContext, arn: string, files: string[], destination: string): Promise<void> {
  const set = (patch: Partial<ExportJobRecord>) =>
    ctx.store.update<ExportJobRecord>(EXPORT_JOB_KIND, arn, '', (cur) => ({ body: { ...cur.body, ...patch, updateTime: nowIso(ctx) }, status: patch.status }));
  set({ status: 'CREATE_IN_PROGRESS' });
  try {
    // A fresh folder each time: an export never writes through something left (or planted) in an old one.
    await rm(destination, { recursive: true, force: true });
    await mkdir(destination, { recursive: true });
    for (const f of files) await copyFile(f, join(destination, basename(f)), constants.COPYFILE_EXCL);
    set({ status: 'ACTIVE' });
  } catch (e) {
    await rm(destination, { recursive: true, force: true }).catch(() => undefined);
    set({ status: 'CREATE_FAILED', statusDetails: { statusCode: 'INTERNAL_ERROR', message: `The files could not be exported: ${(e as Error).message}` } });
  }
}

export function listCollaborationTrainedModelExportJobs(
  ctx: ServiceContext,
  input: T.ListCollaborationTrainedModelExportJobsRequest,
): T.ListCollaborationTrainedModelExportJobsResponse {
  assertCollaboration(ctx, input.collaborationIdentifier);
  const bodyEquals = {
    trainedModelArn: input.trainedModelArn,
    ...(input.trainedModelVersionIdentifier ? { trainedModelVersionIdentifier: input.trainedModelVersionIdentifier } : {}),
  };
  const scope = `ListCollaborationTrainedModelExportJobs/${input.collaborationIdentifier}/${JSON.stringify(bodyEquals)}`;
  const { items, nextToken } = page(scope, input.maxResults, input.nextToken, (beforeSeq, limit) =>
    ctx.store.list<ExportJobRecord>({ kind: EXPORT_JOB_KIND, beforeSeq, limit, bodyEquals }),
  );
  return toOutput('ListCollaborationTrainedModelExportJobsResponse', { collaborationTrainedModelExportJobs: items.map((i) => i.body), nextToken });
}
