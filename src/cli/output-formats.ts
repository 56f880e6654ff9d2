import { yaml } from './on-demand.js';
import { formatAwsJson, withCliTimestamps } from './aws-json.js';

/**
 * The AWS CLI v2's output formats (awscli/formatter.py, text.py, table.py), ported so that `crml … --output X`
 * prints what `aws cleanroomsml … --output X` prints for the same response. Values reach here as the AWS CLI
 * holds them after parsing: timestamps already ISO strings (see `cliValue`).
 */

export const OUTPUT_FORMATS = ['json', 'text', 'table', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A response as the AWS CLI holds it before --query: timestamps as isoformat() strings, no undefined members. */
export function cliValue(value: unknown): unknown {
  return JSON.parse(JSON.stringify(withCliTimestamps(value) ?? null)) as unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) => !Array.isArray(v) && !isObject(v);
/** Python's sorted() on str keys: by code point, as JS's default sort on BMP strings. */
const sorted = (keys: Iterable<string>) => [...keys].sort();

/** Python's str() of a JSON value (True, None, 1e-05). */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return pyNumber(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function pyNumber(n: number): string {
  // JSON integers are Python ints: all their digits.
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  // repr(float): shortest round-trip digits; exponent form below 1e-4 and from 1e16.
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = String(n);
  return s.includes('.') ? s : `${s}.0`;
}

export function formatJson(value: unknown): string | undefined {
  if (isObject(value) && Object.keys(value).length === 0) return undefined;
  return formatAwsJson(value);
}

// ---- text: awscli/text.py ----

export function formatText(value: unknown): string {
  const out: string[] = [];
  formatTextItem(value, out);
  return out.join('');
}

function formatTextItem(item: unknown, out: string[], identifier?: string, scalarKeys?: string[]): void {
  if (isObject(item)) formatTextDict(item, out, identifier, scalarKeys);
  else if (Array.isArray(item)) formatTextList(item, out, identifier);
  else out.push(`${pyStr(item)}\n`);
}

function formatTextList(item: unknown[], out: string[], identifier?: string): void {
  if (item.length === 0) return;
  if (item.some(isObject)) {
    const allKeys = sorted(new Set(item.filter(isObject).flatMap((d) => Object.entries(d).filter(([, v]) => isScalar(v)).map(([k]) => k))));
    for (const element of item) formatTextItem(element, out, identifier, allKeys);
  } else if (item.some(Array.isArray)) {
    const scalars = item.filter(isScalar);
    if (scalars.length > 0) formatScalarList(scalars, out, identifier);
    for (const nonScalar of item.filter((e) => !isScalar(e))) formatTextItem(nonScalar, out, identifier);
  } else {
    formatScalarList(item, out, identifier);
  }
}

function formatScalarList(elements: unknown[], out: string[], identifier?: string): void {
  if (identifier !== undefined) for (const e of elements) out.push(`${identifier.toUpperCase()}\t${pyStr(e)}\n`);
  else out.push(`${elements.map(pyStr).join('\t')}\n`);
}

function formatTextDict(item: Record<string, unknown>, out: string[], identifier?: string, scalarKeys?: string[]): void {
  const scalars: string[] = [];
  const nonScalars: [string, unknown][] = [];
  if (scalarKeys === undefined) {
    for (const key of sorted(Object.keys(item))) {
      const v = item[key];
      if (isScalar(v)) scalars.push(pyStr(v));
      else nonScalars.push([key, v]);
    }
  } else {
    for (const key of scalarKeys) scalars.push(key in item ? pyStr(item[key]) : '');
    for (const key of sorted(Object.keys(item).filter((k) => !scalarKeys.includes(k)))) nonScalars.push([key, item[key]]);
  }
  if (scalars.length > 0) {
    if (identifier !== undefined) scalars.unshift(identifier.toUpperCase());
    out.push(`${scalars.join('\t')}\n`);
  }
  for (const [key, v] of nonScalars) formatTextItem(v, out, key);
}

// ---- table: awscli/formatter.py TableFormatter and awscli/table.py MultiTable (without colours) ----

/**
 * unicodedata.east_asian_width in 'WFA' counts 2: the wide and fullwidth ranges, and of the ambiguous ones those of
 * Latin-1 (é, ü, °, ×); other ambiguous characters (Greek, Cyrillic, box drawing) count 1 here.
 */
const LATIN1_AMBIGUOUS = [
  [0xa1, 0xa1], [0xa4, 0xa4], [0xa7, 0xa8], [0xaa, 0xaa], [0xad, 0xae], [0xb0, 0xb4], [0xb6, 0xba], [0xbc, 0xbf],
  [0xc6, 0xc6], [0xd0, 0xd0], [0xd7, 0xd8], [0xde, 0xe1], [0xe6, 0xe6], [0xe8, 0xea], [0xec, 0xed], [0xf0, 0xf0],
  [0xf2, 0xf3], [0xf7, 0xfa], [0xfc, 0xfc], [0xfe, 0xfe],
] as const;

function textLength(text: string): number {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const wide =
      (c >= 0xa1 && c <= 0xfe && LATIN1_AMBIGUOUS.some(([a, b]) => c >= a && c <= b)) ||
      (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) || (c >= 0x20000 && c <= 0x3fffd);
    n += wide ? 2 : 1;
  }
  return n;
}

/** Python's round(): halves to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const spaces = (n: number) => ' '.repeat(Math.max(0, n));
const dashes = (n: number) => '-'.repeat(Math.max(0, n));

function centerText(text: string, length: number, leftEdge = '|', rightEdge = '|'): string {
  const textLen = textLength(text);
  const charStart = Math.floor(length / 2) - Math.floor(textLen / 2) - 1;
  const soFar = textLength(leftEdge) + charStart + textLen;
  return `${leftEdge}${spaces(charStart)}${text}${spaces(length - textLength(rightEdge) - soFar)}${rightEdge}`;
}

function alignLeft(text: string, length: number, leftEdge: string, rightEdge: string): string {
  const textLen = textLength(text);
  const padding = length - (textLen + 2 + textLength(leftEdge) + textLength(rightEdge)) >= 0 ? 2 : 0;
  return `${leftEdge}${spaces(padding)}${text}${spaces(length - (leftEdge.length + padding + textLen) - rightEdge.length)}${rightEdge}`;
}

class Section {
  title = '';
  headers: string[] = [];
  rows: string[][] = [];
  indentLevel = 0;
  private numCols?: number;
  private maxWidths: number[] = [];

  addHeader(headers: string[]): void {
    this.updateMaxWidths(headers);
    this.numCols ??= headers.length;
    this.headers = headers;
  }

  addRow(row: unknown[]): void {
    this.numCols ??= row.length;
    if (row.length !== this.numCols) throw new Error(`Row should have ${this.numCols} elements, instead it has ${row.length}`);
    const cells = row.map(pyStr);
    this.rows.push(cells);
    this.updateMaxWidths(cells);
  }

  columnWidths(padding = 0, maxWidth?: number): number[] {
    const unscaled = this.maxWidths.map((w) => w + padding);
    if (maxWidth === undefined || unscaled.length === 0) return unscaled;
    const scale = maxWidth / unscaled.reduce((a, b) => a + b, 0);
    const scaled = unscaled.map((w) => pyRound(scale * w));
    let offBy = scaled.reduce((a, b) => a + b, 0) - maxWidth;
    while (offBy !== 0) {
      const order = [...scaled.keys()];
      if (offBy < 0) order.reverse();
      for (const i of order) {
        if (offBy > 0) {
          scaled[i]!--;
          offBy--;
        } else {
          scaled[i]!++;
          offBy++;
        }
        if (offBy === 0) break;
      }
    }
    return scaled;
  }

  totalWidth(padding: number, outerPadding: number): number {
    const total = this.columnWidths().reduce((a, w) => a + w + padding, 0) + 2 + 2 * outerPadding;
    return Math.max(textLength(this.title) + 2 + 2 * outerPadding, total);
  }

  private updateMaxWidths(row: string[]): void {
    if (this.maxWidths.length === 0) this.maxWidths = row.map(textLength);
    else row.forEach((el, i) => (this.maxWidths[i] = Math.max(textLength(el), this.maxWidths[i] ?? 0)));
  }
}

class MultiTable {
  private sections: Section[] = [];
  private current?: Section;

  constructor(private readonly terminalWidth: number) {}

  addRowHeader(headers: string[]): void {
    this.current!.addHeader(headers);
  }

  addRow(row: unknown[]): void {
    this.current!.addRow(row);
  }

  newSection(title: string, indentLevel = 0): void {
    this.current = new Section();
    this.current.title = title;
    this.current.indentLevel = indentLevel;
    this.sections.push(this.current);
  }

  render(): string {
    let maxWidth = this.maxWidth();
    if (maxWidth > this.terminalWidth) {
      // Sections of a single row become key/value pairs, one per line.
      this.sections = this.sections.map((s) => {
        if (s.rows.length !== 1 || s.headers.length === 0) return s;
        const vertical = new Section();
        vertical.title = s.title;
        vertical.indentLevel = s.indentLevel;
        s.headers.forEach((h, i) => i < s.rows[0]!.length && vertical.addRow([h, s.rows[0]![i]]));
        return vertical;
      });
      maxWidth = this.maxWidth();
    }
    const out = [`${dashes(maxWidth)}\n`];
    for (const s of this.sections) this.renderSection(s, maxWidth, out);
    return out.join('');
  }

  private maxWidth(): number {
    return Math.max(...this.sections.map((s) => s.totalWidth(4, s.indentLevel)));
  }

  private renderSection(section: Section, maxWidth: number, out: string[]): void {
    const indent = '|'.repeat(section.indentLevel);
    const write = (line: string) => out.push(`${indent}${line}${indent}\n`);
    const width = maxWidth - section.indentLevel * 2;
    if (section.title) {
      write(centerText(section.title, width));
      if (section.headers.length === 0 && section.rows.length === 0) write(`+${dashes(width - 2)}+`);
    }
    if (section.headers.length > 0) {
      const widths = section.columnWidths(4, width);
      write(lineBreak(widths));
      write(widths.map((w, i) => i < section.headers.length ? centerText(section.headers[i]!, w, i === 0 ? '|' : '', '|') : '').join(''));
    }
    if (section.rows.length > 0) {
      const widths = section.columnWidths(4, width);
      if (widths.length === 0) return;
      write(lineBreak(widths));
      for (const row of section.rows) write(widths.map((w, i) => (i < row.length ? alignLeft(row[i]!, w, i === 0 ? '|' : '', '|') : '')).join(''));
      write(lineBreak(widths));
    }
  }
}

function lineBreak(widths: number[]): string {
  return widths.map((w, i) => (i === 0 ? `+${dashes(w - 2)}+` : `${dashes(w - 1)}+`)).join('');
}

/** The AWS CLI's `--output table`: the operation's name as the title; nothing for an empty response. */
export function formatTable(operationName: string, value: unknown, terminalWidth = 80): string | undefined {
  const table = new MultiTable(terminalWidth);
  return buildTable(table, operationName, value, 0) ? table.render() : undefined;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

function groupScalarKeys(current: Record<string, unknown>): [string[], string[]] {
  const keys = sorted(Object.keys(current));
  return [keys.filter((k) => isScalar(current[k])), keys.filter((k) => !isScalar(current[k]))];
}

function buildTable(table: MultiTable, title: string | undefined, current: unknown, indentLevel: number): boolean {
  if (isEmpty(current)) return false;
  if (title !== undefined) table.newSection(title, indentLevel);
  if (Array.isArray(current)) {
    if (isObject(current[0])) buildSubTableFromList(table, current as Record<string, unknown>[], indentLevel, title);
    else {
      for (const item of current) {
        if (isScalar(item)) table.addRow([item]);
        else if (Array.isArray(item) ? item.every(isScalar) : Object.keys(item as object).every((k) => isScalar(k))) {
          table.addRow(Array.isArray(item) ? item : Object.keys(item as object));
        } else buildTable(table, undefined, item, 0);
      }
    }
  }
  if (isObject(current)) buildSubTableFromDict(table, current, indentLevel);
  return true;
}

function buildSubTableFromDict(table: MultiTable, current: Record<string, unknown>, indentLevel: number): void {
  const [headers, more] = groupScalarKeys(current);
  if (headers.length === 1) table.addRow([headers[0], current[headers[0]!]]);
  else if (headers.length > 0) {
    table.addRowHeader(headers);
    table.addRow(headers.map((k) => current[k]));
  }
  for (const key of more) buildTable(table, key, current[key], indentLevel + 1);
}

function buildSubTableFromList(table: MultiTable, current: Record<string, unknown>[], indentLevel: number, title: string | undefined): void {
  const headerSet = new Set<string>();
  const moreSet = new Set<string>();
  for (const item of current) {
    if (!isObject(item)) continue;
    const [h, m] = groupScalarKeys(item);
    h.forEach((k) => headerSet.add(k));
    m.forEach((k) => moreSet.add(k));
  }
  const headers = sorted(headerSet);
  const more = sorted(moreSet);
  table.addRowHeader(headers);
  let first = true;
  for (const element of current) {
    if (!first && more.length > 0) {
      table.newSection(title ?? '', indentLevel);
      table.addRowHeader(headers);
    }
    first = false;
    table.addRow(headers.map((h) => (isObject(element) && h in element ? element[h] : '')));
    for (const key of more) if (isObject(element) && key in element) buildTable(table, key, element[key], indentLevel + 1);
  }
}

// ---- yaml: awscli/formatter.py YAMLDumper (ruamel's safe dumper, block style) ----

export function formatYaml(value: unknown): string | undefined {
  if (isObject(value) && Object.keys(value).length === 0) return undefined;
  // Scalars are printed as JSON: YAML would end the document with '...'.
  if (isScalar(value)) return JSON.stringify(value ?? null);
  // ruamel's safe dumper: keys sorted, lists not indented, YAML 1.2 (only true/false are booleans) but strings that
  // read as timestamps quoted.
  return yaml().stringify(value, { indentSeq: false, lineWidth: 0, singleQuote: true, customTags: ['timestamp'], sortMapEntries: true }).replace(/\n$/, '');
}

export function formatOutput(format: OutputFormat, operationName: string, value: unknown, terminalWidth?: number): string | undefined {
  switch (format) {
    case 'json':
      return formatJson(value);
    case 'text': {
      const t = formatText(value);
      return t === '' ? undefined : t.replace(/\n$/, '');
    }
    case 'table':
      return formatTable(operationName, value, terminalWidth)?.replace(/\n$/, '');
    case 'yaml':
      return formatYaml(value);
  }
}
