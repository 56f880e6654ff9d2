import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';


/** What a run needs of the host while it runs. */
export interface CapacityRequest {
  cpus: number;
  memoryBytes: number;
}

/**
 * The host's budget shared by every process on one data folder: a lease per granted run, so two processes
 * (two servers, a server and a CLI) never give the same cores and memory twice.
 */
export interface CapacityLedger {
  /** A lease id when `request` fits beside every live lease (an idle host takes any run); undefined otherwise. */
  tryAcquire(request: CapacityRequest, capacity: CapacityRequest): string | undefined;
  release(leaseId: string): void;
}

/** The kernel's start time of a process (clock ticks since boot): a pid reused by another process differs. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); starttime is field 22. A zombie runs nothing: it holds no lease.
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/**
 * SQLite in the data folder (a file of its own beside the store). Each lease names its process by pid and
 * start time, so a lease of a process that died (killed, crashed) is reclaimed by the next acquire instead of
 * holding the host forever. Every acquire is one IMMEDIATE transaction: reclaim, sum, grant.
 */
export class SqliteCapacityLedger implements CapacityLedger {
  private readonly pid = process.pid;
  private readonly started = processStartTime(process.pid) ?? '';

  private constructor(private readonly db: Database.Database) {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS capacity_leases (
      id TEXT PRIMARY KEY, pid INTEGER NOT NULL, started TEXT NOT NULL, cpus REAL NOT NULL, memory_bytes INTEGER NOT NULL, granted_at TEXT NOT NULL)`);
  }

  static open(path: string): SqliteCapacityLedger {
    return new SqliteCapacityLedger(new Database(path));
  }

  tryAcquire(request: CapacityRequest, capacity: CapacityRequest): string | undefined {
    return this.db.transaction(() => {
      const leases = this.db.prepare('SELECT id, pid, started, cpus, memory_bytes AS memoryBytes FROM capacity_leases').all() as {
        id: string; pid: number; started: string; cpus: number; memoryBytes: number;
      }[];
      let cpus = 0;
      let memory = 0;
      for (const l of leases) {
        if (processStartTime(l.pid) !== l.started) {
          this.db.prepare('DELETE FROM capacity_leases WHERE id = ?').run(l.id);
          continue;
        }
        cpus += l.cpus;
        memory += l.memoryBytes;
      }
      const idle = cpus === 0 && memory === 0;
      if (!idle && (cpus + request.cpus > capacity.cpus || memory + request.memoryBytes > capacity.memoryBytes)) return undefined;
      const id = randomUUID();
      this.db
        .prepare('INSERT INTO capacity_leases (id, pid, started, cpus, memory_bytes, granted_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, this.pid, this.started, request.cpus, request.memoryBytes, new Date().toISOString());
      return id;
    }).immediate();
  }

  release(leaseId: string): void {
    this.db.prepare('DELETE FROM capacity_leases WHERE id = ?').run(leaseId);
  }

  close(): void {
    this.db.close();
  }
}
