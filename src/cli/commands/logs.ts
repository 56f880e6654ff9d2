import type { CleanRoomsMLLocal } from '../../api/service.js';
import { inferenceJobArn, resolveTrainedModelArn } from '../../api/artifacts.js';

interface ReadOptions {
  host?: string;
  versionIdentifier?: string;
  asAccount?: string;
  membershipIdentifier?: string;
}

/** Resolves when the output can take more: printing a million lines waits for a slow reader. */
type Print = (s: string) => Promise<void> | undefined;

/** The trained model a command names (an ARN, id or name), read in its own membership unless one is given. */
function readRequest(service: CleanRoomsMLLocal, trainedModel: string, opts: ReadOptions) {
  const trainedModelArn = resolveTrainedModelArn(service, trainedModel);
  const membershipIdentifier =
    opts.membershipIdentifier ??
    service.trainedModels.get(trainedModelArn)?.body.membershipIdentifier ??
    service.settings.defaultMembershipId;
  return { membershipIdentifier, trainedModelArn, versionIdentifier: opts.versionIdentifier, asAccountId: opts.asAccount };
}

/** `crml logs <trained model> [--follow] [--as-account ID] [--host algo-2]`: the run's lines, as that account sees them. */
export async function printLogs(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: ReadOptions & { follow?: boolean },
  print: Print,
  printBytes: (page: Buffer) => Promise<void> | undefined,
): Promise<void> {
  const job = inferenceJobArn(service, trainedModel);
  if (job) {
    const membershipIdentifier = opts.membershipIdentifier ?? service.inference.get(job)?.membershipIdentifier ?? service.settings.defaultMembershipId;
    const lines = service.inferenceJobLogs({ membershipIdentifier, trainedModelInferenceJobArn: job, asAccountId: opts.asAccount, follow: opts.follow });
    for await (const l of lines) await print(`${l.time.toISOString()} ${l.host} ${l.stream} ${l.text}`);
    return;
  }
  // Lines come from the store a page at a time, as bytes, each page printed at once and waiting for the reader:
  // memory stays flat, and no string is made per line.
  for await (const page of service.trainedModelLogText({ ...readRequest(service, trainedModel, opts), host: opts.host, follow: opts.follow })) {
    await printBytes(page);
  }
}

/** `crml metrics <trained model> [--as-account ID] [--output json]`: every data point, as a table or JSON. */
export async function printMetrics(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: ReadOptions & { output?: string },
  print: Print,
): Promise<void> {
  const points = await service.trainedModelMetrics(readRequest(service, trainedModel, opts));
  if (opts.output === 'json') {
    await print(JSON.stringify(points.map((p) => ({ ...p, time: p.time.toISOString() })), null, 2));
    return;
  }
  const rows = [['time', 'host', 'name', 'value'], ...points.map((p) => [p.time.toISOString(), p.host, p.name, String(p.value)])];
  const widths = rows[0]!.map((_, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  for (const r of rows) await print(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}
