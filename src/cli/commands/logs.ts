import type { CleanRoomsMLLocal } from '../../api/service.js';
import { resolveTrainedModelArn } from '../../api/artifacts.js';

/** `crml logs <trained model>`: the stored lines of a run, in order (the owner's raw view). */
export function printLogs(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { host?: string; versionIdentifier?: string },
  print: (s: string) => void,
): void {
  const arn = resolveTrainedModelArn(service, trainedModel);
  let after = 0;
  for (;;) {
    const lines = service.store.readLogLines(arn, opts.versionIdentifier ?? '', after, 1000);
    if (lines.length === 0) break;
    for (const l of lines) if (!opts.host || l.host === opts.host) print(`${l.time} ${l.host} ${l.stream} ${l.text}`);
    after = lines[lines.length - 1]!.seq;
  }
}

/** `crml metrics <trained model>`: every data point, as a table or JSON. */
export function printMetrics(
  service: CleanRoomsMLLocal,
  trainedModel: string,
  opts: { output?: string; versionIdentifier?: string },
  print: (s: string) => void,
): void {
  const arn = resolveTrainedModelArn(service, trainedModel);
  const points = service.store.readMetricPoints(arn, opts.versionIdentifier ?? '');
  if (opts.output === 'json') {
    print(JSON.stringify(points.map(({ seq: _seq, ...p }) => p), null, 2));
    return;
  }
  print(['time', 'host', 'name', 'value'].join('\t'));
  for (const p of points) print([p.time, p.host, p.name, String(p.value)].join('\t'));
}
