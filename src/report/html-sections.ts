import { chartData, type ChartData } from './chart-data.js';
import { metricNames } from './metric-series.js';
import type { RunReport } from './run-report.js';
import { compareLabels, differingHyperparameters, finalMetrics, runLabel } from './comparison.js';
import { formatBytes, formatDuration, formatNumber } from './format.js';

/**
 * What an HTML page shows, as data: the page's script turns it into elements with textContent only, so nothing
 * in it (a log line a container wrote, a hyperparameter) is ever read as HTML.
 */
export type Section =
  | { type: 'table'; title: string; head?: string[]; rows: string[][] }
  | { type: 'list'; title: string; items: string[] }
  | { type: 'log'; title: string; lines: string[] }
  | { type: 'charts'; title: string; charts: ChartData[] };

export interface PageModel {
  title: string;
  subtitle: string;
  sections: Section[];
}

/** Where a run's x axis starts: when its containers started, else when it was created. */
const originOf = (r: RunReport) => Date.parse(r.startedAt ?? r.createTime);

const logLine = (l: { time: string; host: string; stream: string; text: string }) => `${l.time} ${l.host} ${l.stream} ${l.text}`;

export function runReportPage(r: RunReport): PageModel {
  const facts: [string, string | undefined][] = [
    ['ARN', r.trainedModelArn],
    ['Version', r.versionIdentifier],
    ['Status', r.status],
    ['Status code', r.statusCode],
    ['Message', r.statusMessage],
    ['Duration', formatDuration(r.durationMs)],
    ['Instance type', r.instanceType],
    ['Instance count', String(r.instanceCount)],
    ['Volume', r.volumeSizeInGB === undefined ? undefined : `${r.volumeSizeInGB} GB`],
    ['Max runtime', r.maxRuntimeInSeconds === undefined ? undefined : `${r.maxRuntimeInSeconds} s`],
    ['Input mode', r.trainingInputMode],
    ['Exit code', r.exitCode === undefined ? undefined : String(r.exitCode)],
    ['Image', r.image.uri],
    ['Image digest', r.image.digest],
  ];
  const start = Date.parse(r.timeline[0]?.time ?? r.createTime);
  const l = r.limits;
  const sections: Section[] = [
    { type: 'table', title: 'Run', rows: facts.filter((f): f is [string, string] => f[1] !== undefined) },
    {
      type: 'table',
      title: 'Status timeline',
      head: ['Status', 'Since', 'After'],
      rows: r.timeline.map((t) => [t.status, t.time, formatDuration(Date.parse(t.time) - start) ?? '']),
    },
    {
      type: 'table',
      title: 'Limits applied',
      head: ['', 'Container', 'Instance type'],
      rows: l
        ? [
            ['vCPUs', String(l.vcpus), String(l.requested.vcpus)],
            ['Memory', formatBytes(l.memoryBytes), formatBytes(l.requested.memoryBytes)],
            ['GPUs', String(l.gpus), String(l.requested.gpus)],
            ['/dev/shm', formatBytes(l.shmSizeBytes), ''],
            ...(l.scaledDown ? [['Scaled down', l.scaledDown, '']] : []),
          ]
        : [['(not recorded)', '', '']],
    },
    { type: 'table', title: 'Hyperparameters', head: ['Name', 'Value'], rows: Object.entries(r.hyperparameters) },
    { type: 'list', title: 'Environment (names only; values are not shown)', items: r.environmentNames },
    {
      type: 'table',
      title: 'Channels',
      head: ['Channel', 'sha256', 'ML input channel'],
      rows: r.channels.map((c) => [c.channelName, c.sha256 ?? '(not recorded)', c.mlInputChannelArn ?? '']),
    },
    { type: 'list', title: 'Artifacts', items: r.artifacts },
    {
      type: 'charts',
      title: 'Metrics',
      charts: metricNames(r.metrics).map((name) =>
        chartData(name, r.metrics.filter((s) => s.metric === name).map((s) => ({ label: s.host, series: s, origin: originOf(r) }))),
      ),
    },
  ];
  if (r.log && r.log.stderrNearFailure.length > 0) {
    sections.push({ type: 'log', title: `stderr before the failure (last ${r.log.stderrNearFailure.length} lines)`, lines: r.log.stderrNearFailure.map(logLine) });
  }
  if (r.log) sections.push({ type: 'log', title: `Log: last ${r.log.tail.length} of ${r.log.totalLines} lines`, lines: r.log.tail.map(logLine) });
  return { title: `Trained model ${runLabel(r)}`, subtitle: r.trainedModelArn, sections };
}

export function comparisonPage(runs: readonly RunReport[]): PageModel {
  const labels = compareLabels(runs);
  const names = metricNames(runs.flatMap((r) => r.metrics));
  const finals = finalMetrics(runs).map(({ label, values }) => [label, ...values.map((v) => (v === undefined ? '-' : formatNumber(v)))]);
  const differing = differingHyperparameters(runs);
  return {
    title: `Comparing ${runs.length} trained models`,
    subtitle: labels.join(' · '),
    sections: [
      {
        type: 'table',
        title: 'Runs',
        head: ['', ...labels],
        rows: [
          ['ARN', ...runs.map((r) => r.trainedModelArn)],
          ['Status', ...runs.map((r) => r.status)],
          ['Status code', ...runs.map((r) => r.statusCode ?? '-')],
          ['Duration', ...runs.map((r) => formatDuration(r.durationMs) ?? '-')],
          ['Instances', ...runs.map((r) => (r.instanceType ? `${r.instanceType} × ${r.instanceCount}` : '-'))],
          ['Image digest', ...runs.map((r) => r.image.digest ?? '-')],
        ],
      },
      {
        type: 'table',
        title: differing.length ? 'Hyperparameters that differ' : 'Hyperparameters (the same in every run)',
        head: ['', ...labels],
        rows: differing.map((k) => [k, ...runs.map((r) => r.hyperparameters[k] ?? '(not set)')]),
      },
      { type: 'table', title: 'Final metrics', head: ['', ...labels], rows: finals },
      {
        type: 'charts',
        title: 'Metrics, overlaid (one series per run and host)',
        charts: names.map((name) =>
          chartData(
            name,
            runs.flatMap((r, i) => r.metrics.filter((s) => s.metric === name).map((s) => ({ label: `${labels[i]} · ${s.host}`, series: s, origin: originOf(r) }))),
          ),
        ),
      },
    ],
  };
}
