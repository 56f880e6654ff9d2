import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The persistent store: one SQLite file that every process (CLI, server, a restarted runner) opens.
 * WAL mode lets readers in other processes see committed state while a run writes.
 * Records are JSON documents with a few indexed columns; timestamps are ISO strings inside the JSON.
 */

export type ResourceKind =
  | 'configured-model-algorithm'
  | 'configured-model-algorithm-association'
  | 'ml-input-channel'
  | 'trained-model'
  | 'ml-configuration'
  | 'trained-model-inference-job'
  | 'trained-model-export-job';

/** A stored record: the output shape with timestamps kept as ISO strings. */
export type Stored<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | undefined ? string | undefined : T[K];
};

export interface StoredResource<T> {
  /** Insertion order: stable and unique, the basis of pagination tokens. */
  seq: number;
  kind: ResourceKind;
  arn: string;
  /** '' for the base record; a version id for later versions of a trained model. */
  versionId: string;
  membershipId: string | null;
  status: string | null;
  body: T;
}

export interface NewResource<T> {
  kind: ResourceKind;
  arn: string;
  versionId?: string;
  membershipId?: string | null;
  status?: string | null;
  body: T;
}

export interface ListQuery {
  kind: ResourceKind;
  membershipId?: string;
  arn?: string;
  /** Only records inserted before this seq (newest first paging). */
  beforeSeq?: number;
  limit: number;
  status?: string;
  /** Top-level members of the body that must equal these strings (a list's filters, such as trainedModelArn). */
  bodyEquals?: Record<string, string>;
}

export interface StoredLogLine {
  seq: number;
  time: string;
  stream: 'stdout' | 'stderr';
  host: string;
  text: string;
}

export interface StoredMetricPoint {
  seq: number;
  name: string;
  value: number;
  time: string;
  host: string;
}

interface ResourceRow {
  seq: number;
  kind: ResourceKind;
  arn: string;
  version_id: string;
  membership_id: string | null;
  status: string | null;
  body: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS resources (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  arn TEXT NOT NULL,
  version_id TEXT NOT NULL DEFAULT '',
  membership_id TEXT,
  status TEXT,
  body TEXT NOT NULL,
  UNIQUE (arn, version_id)
);
CREATE INDEX IF NOT EXISTS resources_kind_membership ON resources (kind, membership_id, seq);
-- The newest version of a resource (getVersion: every GetTrainedModel) without sorting: 17 -> 10 µs a look-up.
CREATE INDEX IF NOT EXISTS resources_arn_seq ON resources (arn, seq);
CREATE TABLE IF NOT EXISTS tags (
  arn TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS log_chunks (
  arn TEXT NOT NULL,
  version_id TEXT NOT NULL,
  first_line INTEGER NOT NULL,
  count INTEGER NOT NULL,
  streams TEXT NOT NULL,
  hosts TEXT NOT NULL,
  times TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (arn, version_id, first_line)
);
CREATE TABLE IF NOT EXISTS metric_points (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  arn TEXT NOT NULL,
  version_id TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  time TEXT NOT NULL,
  host TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_run ON metric_points (arn, version_id, seq);
`;

/**
 * Log lines are stored in chunks, one row per batch the runner hands over: a run may print millions of lines,
 * and one row per line costs more than the container takes to print them. A chunk keeps every line's number,
 * time, stream and host; lines never contain a newline, so their texts join with one.
 */
interface LogChunkRow {
  first_line: number;
  count: number;
  streams: string;
  hosts: string;
  times: string;
  text: string;
}

/** A buffer that grows as lines are added to it (doubling, so copies stay few). */
class ByteBuilder {
  private buf = Buffer.allocUnsafe(1 << 20);
  private length = 0;

  line(prefix: Buffer, source: Buffer, start: number, end: number): void {
    const need = this.length + prefix.length + (end - start) + 1;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += prefix.copy(this.buf, this.length);
    this.length += source.copy(this.buf, this.length, start, end);
    this.buf[this.length++] = 10;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** The chunk's lines from line number `from` on, at most `max` of them (the lines before are skipped, not built). */
function expandChunk(row: LogChunkRow, from = row.first_line, max = Infinity): StoredLogLine[] {
  const texts = row.text.split('\n');
  const times = JSON.parse(row.times) as number[];
  const hosts = JSON.parse(row.hosts) as string[];
  const out: StoredLogLine[] = [];
  const start = Math.max(0, from - row.first_line);
  let t = 0;
  for (let i = 0; i < start && i < row.count; i++) t += times[i]!;
  // Lines printed in the same millisecond (most of a fast log) share one ISO string: formatting it was most of a read.
  let isoOf = NaN;
  let iso = '';
  for (let i = start; i < row.count && out.length < max; i++) {
    t += times[i]!;
    if (t !== isoOf) {
      isoOf = t;
      iso = new Date(t).toISOString();
    }
    out.push({
      seq: row.first_line + i,
      time: iso,
      stream: row.streams[i] === 'e' ? 'stderr' : 'stdout',
      host: hosts.length === 1 ? hosts[0]! : hosts[i]!,
      text: texts[i]!,
    });
  }
  return out;
}

export class Store {
  private readonly db: Database.Database;
  /** Next line number per run, so appends need not ask the database. */
  private readonly nextLine = new Map<string, number>();

  /** Prepared once per SQL text: preparing costs more than running most of these queries (a GET is a few). */
  private readonly statements = new Map<string, Database.Statement>();

  /** Bodies frozenBody parsed, by kind, ARN and version, with the text they came from. */
  private readonly parsedBodies = new Map<string, { text: string; body: unknown }>();
  /** getVersionWithTags' answers, valid while the store is as it was at `unchangedAt` (see there). */
  private readonly unchanged = new Map<string, { record: StoredResource<unknown>; tags: Record<string, string> }>();
  private unchangedAt = '';
  /** Followers waiting for this process's next write (see nextWrite). */
  private readonly writeWaiters = new Set<() => void>();

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** The statement for `sql`, prepared on first use. Not for .iterate(): one iteration at a time per statement. */
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Opens (and creates when needed) the store at `path`; ':memory:' for a throwaway one. */
  static open(path: string): Store {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    return new Store(db);
  }

  /**
   * Resolves at this process's next insert or update of a record or append of log lines, or after `ms` at the
   * latest (another process's writes are only seen by reading again): a follower in the process that runs the job
   * sees a line or the final status as it is written, not a poll interval later.
   */
  nextWrite(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.writeWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.writeWaiters.add(wake);
    });
  }

  private wrote(): void {
    // Called for every log chunk: nothing to copy when nobody follows.
    if (this.writeWaiters.size === 0) return;
    for (const wake of [...this.writeWaiters]) wake();
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  insert<T>(r: NewResource<T>): StoredResource<T> {
    const info = this.statement(
        'INSERT INTO resources (kind, arn, version_id, membership_id, status, body) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(r.kind, r.arn, r.versionId ?? '', r.membershipId ?? null, r.status ?? null, JSON.stringify(r.body));
    this.wrote();
    return {
      seq: Number(info.lastInsertRowid),
      kind: r.kind,
      arn: r.arn,
      versionId: r.versionId ?? '',
      membershipId: r.membershipId ?? null,
      status: r.status ?? null,
      body: r.body,
    };
  }

  /**
   * Inserts a new record with its tags in one transaction, after `check` (a quota) in the same one: two
   * processes cannot both pass it, and a record never exists without its tags.
   */
  insertWithTags<T>(r: NewResource<T>, tags: Record<string, string> | undefined, check?: () => void): StoredResource<T> {
    return this.transaction(() => {
      check?.();
      const stored = this.insert(r);
      if (tags) this.setTags(r.arn, tags);
      return stored;
    });
  }

  get<T>(kind: ResourceKind, arn: string, versionId = ''): StoredResource<T> | undefined {
    const row = this.statement('SELECT * FROM resources WHERE kind = ? AND arn = ? AND version_id = ?')
      .get(kind, arn, versionId) as ResourceRow | undefined;
    return row ? toResource<T>(row) : undefined;
  }

  /** One version of a resource; without a version id, the newest (the base record when it has no other). */
  getVersion<T>(kind: ResourceKind, arn: string, versionId: string | undefined): StoredResource<T> | undefined {
    if (versionId !== undefined) return this.get<T>(kind, arn, versionId);
    const row = this.statement('SELECT * FROM resources WHERE kind = ? AND arn = ? ORDER BY seq DESC LIMIT 1')
      .get(kind, arn) as ResourceRow | undefined;
    return row ? toResource<T>(row) : undefined;
  }

  /**
   * getVersion and getTags of that record in one statement: one read instead of two (what GetTrainedModel
   * does on every call). The tags come in getTags' order (by key).
   */
  getVersionWithTags<T>(
    kind: ResourceKind,
    arn: string,
    versionId: string | undefined,
  ): { record: StoredResource<T>; tags: Record<string, string> } | undefined {
    // While nothing was written since, by this connection or any other, the last answer is still the answer: a
    // polled GetTrainedModel then costs one tiny statement instead of reading a 3 KB row and its tags.
    // Two statements: PRAGMA data_version alone is the cheapest read there is (~4 us, a WAL read transaction).
    const at = `${this.statement('SELECT total_changes()').pluck().get() as number}:${this.statement('PRAGMA data_version').pluck().get() as number}`;
    if (this.unchangedAt !== at) {
      this.unchanged.clear();
      this.unchangedAt = at;
    }
    const key = `${kind}\u0000${arn}\u0000${versionId ?? '\u0001latest'}`;
    const known = this.unchanged.get(key);
    if (known) return known as { record: StoredResource<T>; tags: Record<string, string> };
    const found = this.readVersionWithTags<T>(kind, arn, versionId);
    if (found) {
      if (this.unchanged.size >= 256) this.unchanged.clear();
      this.unchanged.set(key, found);
    }
    return found;
  }

  private readVersionWithTags<T>(
    kind: ResourceKind,
    arn: string,
    versionId: string | undefined,
  ): { record: StoredResource<T>; tags: Record<string, string> } | undefined {
    const tags = '(SELECT json_group_object(key, value) FROM (SELECT key, value FROM tags WHERE tags.arn = r.arn ORDER BY key)) AS tags_json';
    const row = (
      versionId === undefined
        ? this.statement(`SELECT r.*, ${tags} FROM resources r WHERE kind = ? AND arn = ? ORDER BY seq DESC LIMIT 1`).get(kind, arn)
        : this.statement(`SELECT r.*, ${tags} FROM resources r WHERE kind = ? AND arn = ? AND version_id = ?`).get(kind, arn, versionId)
    ) as (ResourceRow & { tags_json: string }) | undefined;
    if (!row) return undefined;
    const record = { seq: row.seq, kind: row.kind, arn: row.arn, versionId: row.version_id, membershipId: row.membership_id, status: row.status, body: this.frozenBody<T>(row) };
    // Frozen, as the answer is shared by every caller until the store changes.
    return Object.freeze({ record: Object.freeze(record), tags: Object.freeze(JSON.parse(row.tags_json) as Record<string, string>) });
  }

  /**
   * The body of a row parsed once while its text stays the same (a polled GetTrainedModel reads the same record
   * again and again), frozen since it is shared: readers only, never a record to change and write back.
   */
  private frozenBody<T>(row: ResourceRow): T {
    const key = `${row.kind}\u0000${row.arn}\u0000${row.version_id}`;
    const known = this.parsedBodies.get(key);
    if (known && known.text === row.body) return known.body as T;
    if (this.parsedBodies.size >= 256) this.parsedBodies.clear();
    const body = deepFreeze(JSON.parse(row.body) as unknown);
    this.parsedBodies.set(key, { text: row.body, body });
    return body as T;
  }

  /** Replaces the body (and status) of one record, atomically with respect to other writers. */
  update<T>(
    kind: ResourceKind,
    arn: string,
    versionId: string,
    mutate: (current: StoredResource<T>) => { body: T; status?: string | null },
  ): StoredResource<T> | undefined {
    return this.transaction(() => {
      const current = this.get<T>(kind, arn, versionId);
      if (!current) return undefined;
      const next = mutate(current);
      const status = next.status === undefined ? current.status : next.status;
      this.statement('UPDATE resources SET body = ?, status = ? WHERE seq = ?')
        .run(JSON.stringify(next.body), status, current.seq);
      this.wrote();
      return { ...current, body: next.body, status };
    });
  }

  delete(kind: ResourceKind, arn: string): void {
    this.transaction(() => {
      this.statement('DELETE FROM resources WHERE kind = ? AND arn = ?').run(kind, arn);
      this.statement('DELETE FROM tags WHERE arn = ?').run(arn);
    });
  }

  list<T>(q: ListQuery): StoredResource<T>[] {
    const { where, args } = whereClause(q.kind, { membershipId: q.membershipId, arn: q.arn, status: q.status });
    if (q.beforeSeq !== undefined) {
      where.push('seq < ?');
      args.push(q.beforeSeq);
    }
    for (const [member, value] of Object.entries(q.bodyEquals ?? {})) {
      // Member names are ours (never a caller's): only plain identifiers reach the JSON path.
      if (!/^[A-Za-z]\w*$/.test(member)) throw new Error(`not a member name: ${member}`);
      where.push(`json_extract(body, '$.${member}') = ?`);
      args.push(value);
    }
    args.push(q.limit);
    const rows = this.statement(`SELECT * FROM resources WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`)
      .all(...args) as ResourceRow[];
    return rows.map((r) => toResource<T>(r));
  }

  /** Records of a kind whose status is one of `statuses` (used for quotas and reconciliation). */
  listByStatus<T>(kind: ResourceKind, statuses: readonly string[]): StoredResource<T>[] {
    if (statuses.length === 0) return [];
    const rows = this.statement(
        `SELECT * FROM resources WHERE kind = ? AND status IN (${statuses.map(() => '?').join(',')}) ORDER BY seq`,
      )
      .all(kind, ...statuses) as ResourceRow[];
    return rows.map((r) => toResource<T>(r));
  }

  /**
   * The first record of a kind whose body names `value` under member `member`, at any depth or as an element
   * of that member's list: what a delete checks before it removes something another record uses.
   */
  findReferencing<T>(
    kind: ResourceKind,
    member: string,
    value: string,
    opts: { membershipId?: string; statuses?: readonly string[]; exceptStatuses?: readonly string[] } = {},
  ): StoredResource<T> | undefined {
    const { where, args } = whereClause(kind, { membershipId: opts.membershipId });
    if (opts.statuses) {
      where.push(`status IN (${opts.statuses.map(() => '?').join(',')})`);
      args.push(...opts.statuses);
    }
    if (opts.exceptStatuses) {
      where.push(`coalesce(status, '') NOT IN (${opts.exceptStatuses.map(() => '?').join(',')})`);
      args.push(...opts.exceptStatuses);
    }
    where.push("EXISTS (SELECT 1 FROM json_tree(resources.body) t WHERE t.atom = ? AND (t.key = ? OR t.path = '$.' || ?))");
    args.push(value, member, member);
    const row = this.statement(`SELECT * FROM resources WHERE ${where.join(' AND ')} ORDER BY seq LIMIT 1`).get(...args) as
      | ResourceRow
      | undefined;
    return row ? toResource<T>(row) : undefined;
  }

  /** The ARN of the newest record of a kind whose id (the ARN's last segment) or name is `idOrName`. */
  arnByIdOrName(kind: ResourceKind, idOrName: string): string | undefined {
    const row = this.statement(
        `SELECT arn FROM resources WHERE kind = ? AND (arn LIKE '%/' || ? ESCAPE '\\' OR json_extract(body, '$.name') = ?)
         ORDER BY arn LIKE '%/' || ? ESCAPE '\\' DESC, seq DESC LIMIT 1`,
      )
      .get(kind, escapeLike(idOrName), idOrName, escapeLike(idOrName)) as { arn: string } | undefined;
    return row?.arn;
  }

  getTags(arn: string): Record<string, string> {
    const rows = this.statement('SELECT key, value FROM tags WHERE arn = ? ORDER BY key').all(arn) as {
      key: string;
      value: string;
    }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  setTags(arn: string, tags: Record<string, string>): void {
    const stmt = this.statement(
      'INSERT INTO tags (arn, key, value) VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value',
    );
    this.transaction(() => {
      for (const [k, v] of Object.entries(tags)) stmt.run(arn, k, v);
    });
  }

  removeTags(arn: string, keys: readonly string[]): void {
    const stmt = this.statement('DELETE FROM tags WHERE arn = ? AND key = ?');
    this.transaction(() => {
      for (const k of keys) stmt.run(arn, k);
    });
  }

  appendLogLines(
    arn: string,
    versionId: string,
    lines: readonly { time: Date; stream: 'stdout' | 'stderr'; host: string; text: string }[],
  ): void {
    if (lines.length === 0) return;
    const key = `${arn}#${versionId}`;
    let first = this.nextLine.get(key);
    if (first === undefined) {
      const row = this.statement('SELECT coalesce(max(first_line + count), 1) AS next FROM log_chunks WHERE arn = ? AND version_id = ?')
        .get(arn, versionId) as { next: number };
      first = row.next;
    }
    let streams = '';
    let previous = 0;
    const times: number[] = [];
    const hostSet = new Set<string>();
    for (const l of lines) {
      streams += l.stream === 'stderr' ? 'e' : 'o';
      const ms = l.time.getTime();
      times.push(ms - previous); // deltas keep the JSON small
      previous = ms;
      hostSet.add(l.host);
    }
    const hosts = hostSet.size === 1 ? [...hostSet] : lines.map((l) => l.host);
    this.statement('INSERT INTO log_chunks (arn, version_id, first_line, count, streams, hosts, times, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(arn, versionId, first, lines.length, streams, JSON.stringify(hosts), JSON.stringify(times), lines.map((l) => l.text).join('\n'));
    this.nextLine.set(key, first + lines.length);
    this.wrote();
  }

  /** Log lines in order, from after line `afterSeq`, at most `limit`: callers page so nothing big sits in memory. */
  readLogLines(arn: string, versionId: string, afterSeq = 0, limit = 1000): StoredLogLine[] {
    const out: StoredLogLine[] = [];
    const rows = this.db.prepare(
        `SELECT first_line, count, streams, hosts, times, text FROM log_chunks WHERE arn = @arn AND version_id = @versionId
         AND first_line >= coalesce((SELECT max(first_line) FROM log_chunks WHERE arn = @arn AND version_id = @versionId AND first_line <= @next), 0)
         ORDER BY first_line`,
      )
      .iterate({ arn, versionId, next: afterSeq + 1 }) as IterableIterator<LogChunkRow>;
    for (const row of rows) {
      out.push(...expandChunk(row, afterSeq + 1, limit - out.length));
      if (out.length >= limit) return out;
    }
    return out;
  }

  /**
   * The same lines as readLogLines, as the bytes `crml logs` prints of them (`<time> <host> <stream> <text>\n`
   * each), made straight from each chunk's stored UTF-8: no string per line, which was most of printing a
   * million lines. `last` is the last line's number (afterSeq when there is none).
   */
  readLogText(arn: string, versionId: string, afterSeq = 0, limit = 1000): { bytes: Buffer; lines: number; last: number } {
    const rows = this.db.prepare(
        `SELECT first_line, count, streams, hosts, times, CAST(text AS BLOB) AS text FROM log_chunks WHERE arn = @arn AND version_id = @versionId
         AND first_line >= coalesce((SELECT max(first_line) FROM log_chunks WHERE arn = @arn AND version_id = @versionId AND first_line <= @next), 0)
         ORDER BY first_line`,
      )
      .iterate({ arn, versionId, next: afterSeq + 1 }) as IterableIterator<Omit<LogChunkRow, 'text'> & { text: Buffer }>;
    const out = new ByteBuilder();
    let lines = 0;
    let last = afterSeq;
    for (const row of rows) {
      const times = JSON.parse(row.times) as number[];
      const hosts = JSON.parse(row.hosts) as string[];
      const skip = Math.max(0, afterSeq + 1 - row.first_line);
      let t = 0;
      let start = 0;
      // Lines of the same millisecond, host and stream share one prefix.
      let prefixOf: [number, string, string] = [NaN, '', ''];
      let prefix = Buffer.alloc(0);
      for (let i = 0; i < row.count && lines < limit; i++) {
        t += times[i]!;
        let end = row.text.indexOf(10, start);
        if (end < 0) end = row.text.length;
        if (i >= skip) {
          const host = hosts.length === 1 ? hosts[0]! : hosts[i]!;
          const stream = row.streams[i] === 'e' ? 'stderr' : 'stdout';
          if (t !== prefixOf[0] || host !== prefixOf[1] || stream !== prefixOf[2]) {
            prefixOf = [t, host, stream];
            prefix = Buffer.from(`${new Date(t).toISOString()} ${host} ${stream} `);
          }
          out.line(prefix, row.text, start, end);
          lines += 1;
          last = row.first_line + i;
        }
        start = end + 1;
      }
      if (lines >= limit) break;
    }
    return { bytes: out.bytes(), lines, last };
  }

  /** How many lines of a run are stored per host and stream: what each re-attached instance skips. */
  countLogLinesByHost(arn: string, versionId: string): Record<string, { stdout: number; stderr: number }> {
    const out: Record<string, { stdout: number; stderr: number }> = {};
    const rows = this.db.prepare('SELECT streams, hosts FROM log_chunks WHERE arn = ? AND version_id = ?')
      .iterate(arn, versionId) as IterableIterator<{ streams: string; hosts: string }>;
    for (const r of rows) {
      const hosts = JSON.parse(r.hosts) as string[];
      for (let i = 0; i < r.streams.length; i++) {
        const host = hosts.length === 1 ? hosts[0]! : hosts[i]!;
        const counts = (out[host] ??= { stdout: 0, stderr: 0 });
        counts[r.streams[i] === 'e' ? 'stderr' : 'stdout'] += 1;
      }
    }
    return out;
  }

  /** How many lines of a run are stored, per stream: what a re-attached run skips when the engine replays its log. */
  countLogLines(arn: string, versionId: string): { stdout: number; stderr: number } {
    const counts = { stdout: 0, stderr: 0 };
    const rows = this.db.prepare('SELECT streams FROM log_chunks WHERE arn = ? AND version_id = ?').iterate(arn, versionId) as IterableIterator<{
      streams: string;
    }>;
    for (const r of rows) {
      for (const c of r.streams) counts[c === 'e' ? 'stderr' : 'stdout'] += 1;
    }
    return counts;
  }

  appendMetricPoints(
    arn: string,
    versionId: string,
    points: readonly { name: string; value: number; time: Date; host: string }[],
  ): void {
    if (points.length === 0) return;
    const stmt = this.statement(
      'INSERT INTO metric_points (arn, version_id, name, value, time, host) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => {
      for (const p of points) stmt.run(arn, versionId, p.name, p.value, p.time.toISOString(), p.host);
    });
  }

  readMetricPoints(arn: string, versionId: string): StoredMetricPoint[] {
    return this.statement(
        'SELECT seq, name, value, time, host FROM metric_points WHERE arn = ? AND version_id = ? ORDER BY seq',
      )
      .all(arn, versionId) as StoredMetricPoint[];
  }
}

/** `kind = ?` and an equality per column given: the start of every listing query. */
function whereClause(
  kind: ResourceKind,
  equal: { membershipId?: string; arn?: string; status?: string },
): { where: string[]; args: (string | number)[] } {
  const columns = { membershipId: 'membership_id', arn: 'arn', status: 'status' } as const;
  const where = ['kind = ?'];
  const args: (string | number)[] = [kind];
  for (const [key, column] of Object.entries(columns) as [keyof typeof columns, string][]) {
    const value = equal[key];
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    args.push(value);
  }
  return { where, args };
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Freezes a parsed value and all it holds (an answer shared by many readers). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function toResource<T>(row: ResourceRow): StoredResource<T> {
  return {
    seq: row.seq,
    kind: row.kind,
    arn: row.arn,
    versionId: row.version_id,
    membershipId: row.membership_id,
    status: row.status,
    body: JSON.parse(row.body) as T,
  };
}
