import { describe, expect, it } from 'vitest';
import { Store } from '../../src/api/store.js';
import { TrainedModelRecords, type RunSpec, type TrainedModelRecord } from '../../src/api/trained-model-records.js';

const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/m/trained-model/t1';

function setup() {
  const store = Store.open(':memory:');
  const records = new TrainedModelRecords(store, '/data', () => new Date('2026-12-01T00:00:00Z'));
  const record = {
    trainedModelArn: ARN,
    membershipIdentifier: 'm',
    status: 'CREATE_PENDING',
    name: 't1',
    createTime: '2026-01-01T00:00:00.000Z',
    updateTime: '2026-01-01T00:00:00.000Z',
  } as TrainedModelRecord;
  const spec = { trainedModelArn: ARN, name: 't1' } as RunSpec;
  return { store, records, record, spec };
}

describe('TrainedModelRecords', () => {
  it('stores a new trained model with its spec, owner and tags in one insert: nobody sees it unowned', () => {
    const { store, records, record, spec } = setup();
    const seen: unknown[] = [];
    records.insert(record, { spec, owner: { pid: 1, hostname: 'h' } }, {
      tags: { team: 'a' },
      check: () => seen.push(records.get(ARN)),
    });
    expect(seen).toEqual([undefined]);
    const stored = records.get(ARN)!;
    expect(stored.body.run).toEqual({ artifactsDir: '/data/artifacts/t1/base', spec, owner: { pid: 1, hostname: 'h' } });
    expect(store.getTags(ARN)).toEqual({ team: 'a' });
  });

  it('leaves nothing behind when the check (a quota) refuses', () => {
    const { store, records, record, spec } = setup();
    expect(() =>
      records.insert(record, { spec, owner: { pid: 1, hostname: 'h' } }, { tags: { team: 'a' }, check: () => { throw new Error('quota'); } }),
    ).toThrow('quota');
    expect(records.get(ARN)).toBeUndefined();
    expect(store.getTags(ARN)).toEqual({});
  });

  it('writes status only through the table, passing through `via`, and `always` even when refused', () => {
    const { records, record, spec } = setup();
    records.insert(record, { spec, owner: { pid: 1, hostname: 'h' } });
    expect(records.transition(ARN, '', 'ACTIVE')).toBe(false);
    expect(records.get(ARN)!.body.status).toBe('CREATE_PENDING');
    expect(records.transition(ARN, '', 'ACTIVE', { via: 'CREATE_IN_PROGRESS', patch: { description: 'done' } })).toBe(true);
    const active = records.get(ARN)!;
    expect([active.status, active.body.status, active.body.description, active.body.updateTime]).toEqual([
      'ACTIVE', 'ACTIVE', 'done', '2026-12-01T00:00:00.000Z',
    ]);
    // A cancel that comes too late is refused, and changes nothing.
    expect(records.transition(ARN, '', 'CANCEL_PENDING', { patch: { description: 'no' }, always: { name: 'kept' } })).toBe(false);
    expect(records.get(ARN)!.body).toMatchObject({ status: 'ACTIVE', description: 'done', name: 'kept' });
    // Every status it went through, the intermediate one included, for the report's timeline.
    expect(records.get(ARN)!.body.statusHistory).toEqual([
      { status: 'CREATE_PENDING', time: '2026-01-01T00:00:00.000Z' },
      { status: 'CREATE_IN_PROGRESS', time: '2026-12-01T00:00:00.000Z' },
      { status: 'ACTIVE', time: '2026-12-01T00:00:00.000Z' },
    ]);
  });
});

describe('versionWithTags (what GetTrainedModel reads)', () => {
  it("answers from memory only while the store is unchanged: this process's writes and another's are seen at once", async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'crml-records-'));
    const file = join(dir, 'store.sqlite');
    const mine = Store.open(file);
    const other = Store.open(file);
    try {
      const records = new TrainedModelRecords(mine, '/data', () => new Date('2026-12-01T00:00:00Z'));
      const theirs = new TrainedModelRecords(other, '/data', () => new Date('2026-12-01T00:00:01Z'));
      const { record, spec } = setup();
      records.insert(record, { spec, owner: { pid: 1, hostname: 'h' } }, { tags: { team: 'a' } });
      const first = records.versionWithTags(ARN, undefined)!;
      expect(first.record.body.status).toBe('CREATE_PENDING');
      expect(records.versionWithTags(ARN, undefined)).toBe(first);
      // This connection's write (a status change), then its tags.
      records.transition(ARN, '', 'CREATE_IN_PROGRESS');
      expect(records.versionWithTags(ARN, undefined)!.record.body.status).toBe('CREATE_IN_PROGRESS');
      mine.setTags(ARN, { team: 'b' });
      expect(records.versionWithTags(ARN, undefined)!.tags).toEqual({ team: 'b' });
      // Another connection's (another crml process on the same data folder).
      theirs.transition(ARN, '', 'ACTIVE');
      expect(records.versionWithTags(ARN, undefined)!.record.body.status).toBe('ACTIVE');
      other.removeTags(ARN, ['team']);
      expect(records.versionWithTags(ARN, undefined)!.tags).toEqual({});
      // Shared answers cannot be changed by one caller under another's feet.
      expect(Object.isFrozen(records.versionWithTags(ARN, undefined)!.record.body)).toBe(true);
    } finally {
      mine.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
