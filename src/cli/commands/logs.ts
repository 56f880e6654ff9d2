import type { CleanRoomsMLLocal } from '../../api/service.js';
import { resolveTrainedModelArn } from '../../api/artifacts.js';

interface ReadOptions {
  host?: string;
  versionIdentifier?: string;
  asAccount?: string;
  membershipIdentifier?: string;
}

function membershipOf(service: CleanRoomsMLLocal, arn: string, given?: string): string {
  return given ?? service.trainedModels.get(arn)?.body.membershipIdentifier ?? service.settings.defaultMembershipId;
}

/** `crml logs <trained model> [--follow] [--as-account ID] [--host algo-2]`: the run's lines, as that account sees them. */
export async function printLogs(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: ReadOptions & { follow?: boolean },
  print: (s: string) => void,
): Promise<void> {
  const trainedModelArn = resolveTrainedModelArn(service, trainedModel);
  for await (const l of service.trainedModelLogs({
    membershipIdentifier: membershipOf(service, trainedModelArn, opts.membershipIdentifier),
    trainedModelArn,
    versionIdentifier: opts.versionIdentifier,
    asAccountId: opts.asAccount,
    host: opts.host,
    follow: opts.follow,
  })) {
    print(`${l.time.toISOString()} ${l.host} ${l.stream} ${l.text}`);
  }
}

/** `crml metrics <trained model> [--as-account ID] [--output json]`: every data point, as a table or JSON. */
export async function printMetrics(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: ReadOptions & { output?: string },
  print: (s: string) => void,
): Promise<void> {
  const trainedModelArn = resolveTrainedModelArn(service, trainedModel);
  const points = await service.trainedModelMetrics({
    membershipIdentifier: membershipOf(service, trainedModelArn, opts.membershipIdentifier),
    trainedModelArn,
    versionIdentifier: opts.versionIdentifier,
    asAccountId: opts.asAccount,
  });
  if (opts.output === 'json') {
    print(JSON.stringify(points.map((p) => ({ ...p, time: p.time.toISOString() })), null, 2));
    return;
  }
  const rows = [['time', 'host', 'name', 'value'], ...points.map((p) => [p.time.toISOString(), p.host, p.name, String(p.value)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) print(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}
