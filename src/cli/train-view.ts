import type { LineOutput } from './output.js';

/**
 * What `crml train` shows while a run goes, in two forms: on a terminal, a live region at the bottom (pull
 * progress per layer, then a status line with the phase, the elapsed time and each metric's latest value) redrawn
 * in place under the streaming log lines; anywhere else, plain `key value` lines a script can parse, no ANSI.
 * Every write goes through a LineOutput: a slow reader slows the view, nothing piles up in memory.
 */

export interface TrainSummary {
  status: string;
  statusCode?: string;
  message?: string;
  trainedModelArn: string;
  name: string;
  imageUri: string;
  imageDigest?: string;
  durationMs: number;
  /** The last value of each metric on each host. */
  metrics: { name: string; host: string; value: number }[];
  artifacts: string[];
}

export interface TrainView {
  build(line: string): Promise<void> | undefined;
  pull(p: { id?: string; status: string; progress?: string }): Promise<void> | undefined;
  started(run: { trainedModelArn: string; name: string; imageUri: string }): Promise<void> | undefined;
  status(status: string): Promise<void> | undefined;
  log(line: { host: string; stream: 'stdout' | 'stderr'; text: string }): Promise<void> | undefined;
  metric(point: { name: string; host: string; value: number }): Promise<void> | undefined;
  /** A line of crml's own (watching, cancelling). */
  note(text: string): Promise<void> | undefined;
  summary(s: TrainSummary): Promise<void>;
  /** Stops redrawing (the region is cleared). */
  close(): void;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 100) / 10);
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.floor(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${sec}s` : `${m}m${sec}s`;
}

/** The summary as `key value` lines, the same on a terminal and off one (a terminal aligns and colours them). */
function summaryLines(s: TrainSummary): [string, string][] {
  const rows: [string, string][] = [['status', s.status]];
  if (s.statusCode) rows.push(['status-code', s.statusCode]);
  if (s.message) rows.push(['message', s.message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')]);
  rows.push(['trained-model', s.trainedModelArn], ['name', s.name], ['image', s.imageUri]);
  if (s.imageDigest) rows.push(['image-digest', s.imageDigest]);
  rows.push(['duration', formatDuration(s.durationMs)]);
  for (const m of s.metrics) rows.push(['metric', `${m.name}=${m.value} host=${m.host}`]);
  for (const a of s.artifacts) rows.push(['artifact', a]);
  return rows;
}

/** Off a terminal: one line per event, `kind rest`. */
export class PlainTrainView implements TrainView {
  private readonly layers = new Map<string, string>();
  constructor(private readonly out: LineOutput) {}

  build(line: string) {
    return this.out.line(`build ${line}`);
  }
  pull(p: { id?: string; status: string }) {
    // Progress ticks are for a terminal: a line only when a layer's status changes.
    const key = p.id ?? '';
    if (this.layers.get(key) === p.status) return undefined;
    this.layers.set(key, p.status);
    return this.out.line(`pull ${p.id ? `${p.id}: ` : ''}${p.status}`);
  }
  started(run: { trainedModelArn: string; name: string; imageUri: string }) {
    return this.out.line(`trained-model ${run.trainedModelArn} name=${run.name} image=${run.imageUri}`);
  }
  status(status: string) {
    return this.out.line(`status ${status}`);
  }
  log(l: { host: string; stream: string; text: string }) {
    return this.out.line(`log ${l.host} ${l.stream} ${l.text}`);
  }
  metric(p: { name: string; host: string; value: number }) {
    return this.out.line(`metric ${p.name}=${p.value} host=${p.host}`);
  }
  note(text: string) {
    return this.out.line(`note ${text}`);
  }
  async summary(s: TrainSummary) {
    await this.out.line('summary');
    for (const [k, v] of summaryLines(s)) await this.out.line(`${k} ${v}`);
  }
  close() {}
}

const ESC = '\u001b[';
const CLEAR_LINE = `\r${ESC}2K`;
const UP = `${ESC}1A`;
const bold = (s: string) => `${ESC}1m${s}${ESC}0m`;
const dim = (s: string) => `${ESC}2m${s}${ESC}0m`;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** On a terminal: lines scroll above a live region that is redrawn in place. */
export class TerminalTrainView implements TrainView {
  private drawn = 0;
  private phase = 'starting';
  private readonly startedAt = Date.now();
  private readonly layers = new Map<string, string>();
  private readonly latest = new Map<string, number>();
  private frame = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly out: LineOutput,
    private readonly columns: () => number,
  ) {
    this.timer = setInterval(() => {
      this.frame += 1;
      void this.out.write(this.redraw())?.catch(() => undefined);
    }, 250);
    this.timer.unref();
  }

  /** The region's lines, each cut to the terminal's width so none wraps (the redraw counts lines). */
  private region(): string[] {
    const width = Math.max(20, this.columns() - 1);
    const cut = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
    const lines = [...this.layers.entries()].map(([id, line]) => cut(id ? `${id}: ${line}` : line));
    const metrics = [...this.latest].map(([k, v]) => `${k}=${v}`).join('  ');
    const status = `${SPINNER[this.frame % SPINNER.length]} ${this.phase}  ${formatDuration(Date.now() - this.startedAt)}${metrics ? `  ${metrics}` : ''}`;
    lines.push(cut(status));
    return lines;
  }

  private clear(): string {
    if (this.drawn === 0) return '';
    return CLEAR_LINE + `${UP}${ESC}2K`.repeat(this.drawn - 1);
  }

  private redraw(): string {
    const lines = this.region();
    const text = this.clear() + lines.join('\n');
    this.drawn = lines.length;
    return text;
  }

  /** A line above the region, then the region again. */
  private line(text: string): Promise<void> | undefined {
    const clear = this.clear();
    this.drawn = 0;
    return this.out.write(`${clear}${text}\n${this.redraw()}`);
  }

  build(line: string) {
    this.phase = 'building';
    return this.line(dim(line));
  }
  pull(p: { id?: string; status: string; progress?: string }) {
    this.phase = 'pulling';
    this.layers.set(p.id ?? '', `${p.status}${p.progress ? ` ${p.progress}` : ''}`);
    return this.out.write(this.redraw());
  }
  started(run: { trainedModelArn: string; name: string; imageUri: string }) {
    return this.line(`${bold('Training')} ${run.name} on ${run.imageUri}  ${dim(run.trainedModelArn)}`);
  }
  status(status: string) {
    this.phase = status;
    // Once the containers run the pull is over: its lines leave the region.
    if (status !== 'CREATE_PENDING' && this.layers.size > 0) {
      this.layers.clear();
      return this.line(dim('image ready'));
    }
    return this.out.write(this.redraw());
  }
  log(l: { host: string; stream: string; text: string }) {
    return this.line(`${dim(l.host)} ${l.text}`);
  }
  metric(p: { name: string; host: string; value: number }) {
    this.latest.set(p.host === 'algo-1' ? p.name : `${p.name}@${p.host}`, p.value);
    return undefined;
  }
  note(text: string) {
    return this.line(dim(text));
  }
  async summary(s: TrainSummary) {
    clearInterval(this.timer);
    const rows = summaryLines(s);
    const width = Math.max(...rows.map(([k]) => k.length));
    const colour = s.status === 'ACTIVE' ? `${ESC}32m` : `${ESC}31m`;
    let text = `${this.clear()}\n${bold('Summary')}\n`;
    this.drawn = 0;
    for (const [k, v] of rows) text += `  ${k.padEnd(width)}  ${k === 'status' ? `${colour}${bold(v)}${ESC}0m` : v}\n`;
    await this.out.write(text);
  }
  close() {
    clearInterval(this.timer);
    if (this.drawn > 0) void this.out.write(this.clear())?.catch(() => undefined);
    this.drawn = 0;
  }
}
