import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/runner/engine-discovery.js';
import { DockerTrainingRunner } from '../../src/runner/docker-training-runner.js';
import type { LogLine } from '../../src/runner/types.js';
import { defaultSettings } from '../../src/settings.js';
import { probeJobSpec } from '../helpers/job-spec.js';

/** Not crml.test=1: the runner tests' afterEach removes every container with that label, also of a test running beside them. */
const TEST_LABELS = { 'crml.test.runner-safety': '1' };
const engine = createEngine('unix:///var/run/docker.sock');
const ARN = 'arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/00000000-0000-4000-8000-000000000001/trained-model/0123456789abcd53';
const work = mkdtempSync(join(tmpdir(), 'crml-archive-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LONG = `${'n'.repeat(120)}.bin`;
/** A hostile model folder: a name past tar's 100 characters, a symlink named like the parent, a FIFO, a hard link. */
const SCRIPT = `
cd /opt/ml/model || exit 1
echo long > ${LONG}
mkdir -p deep/${'d'.repeat(90)} && echo deep > deep/${'d'.repeat(90)}/${'f'.repeat(40)}.txt
ln -s .. model
ln -s /etc etc-link
mkfifo pipe
echo one > one.txt && ln one.txt hard.txt
`;

/** Extracts with Python's tarfile as a user would (no filter), then lists what is where. */
const PY = `
import json, os, sys, tarfile
archive, dest = sys.argv[1], sys.argv[2]
with tarfile.open(archive) as t:
    members = [[m.name, 'sym' if m.issym() else 'hard' if m.islnk() else 'dir' if m.isdir() else 'file' if m.isfile() else 'other', m.linkname] for m in t.getmembers()]
    t.extractall(dest)
print(json.dumps({"members": members, "parent": sorted(os.listdir(os.path.dirname(dest)))}))
`;

describe('model.tar.gz: every header written afresh (real container, extracted with Python tarfile)', () => {
  it('keeps long names right, links as links, drops the FIFO, and nothing lands outside the folder', async () => {
    const runner = new DockerTrainingRunner({ engine, logger: pino({ level: 'silent' }), settings: defaultSettings({ dataDir: work }) });
    const artifactsDir = join(work, 'artifacts');
    mkdirSync(artifactsDir);
    const lines: LogLine[] = [];
    const spec = probeJobSpec({ trainedModelArn: ARN, name: 'archive-test', entrypoint: ['/bin/sh', '-c', SCRIPT], artifactsDir, labels: TEST_LABELS });
    const result = await runner.run(spec, { onStarted: () => undefined, onLogLine: (l) => void lines.push(l), onMetric: () => undefined }, new AbortController().signal);
    expect(result.statusCode, lines.map((l) => l.text).join('\n')).toBeUndefined();

    const box = join(work, 'box');
    mkdirSync(box);
    const out = JSON.parse(execFileSync('python3', ['-c', PY, join(artifactsDir, 'model.tar.gz'), join(box, 'model')], { encoding: 'utf8' })) as {
      members: [string, string, string][];
      parent: string[];
    };
    // Nothing written beside the folder it was extracted into.
    expect(out.parent).toEqual(['model']);
    const byName = Object.fromEntries(out.members.map(([name, type, link]) => [name, { type, link }]));
    expect(byName[LONG]).toEqual({ type: 'file', link: '' });
    expect(byName[`deep/${'d'.repeat(90)}/${'f'.repeat(40)}.txt`]).toEqual({ type: 'file', link: '' });
    expect(byName['model']).toEqual({ type: 'sym', link: '..' });
    expect(byName['etc-link']).toEqual({ type: 'sym', link: '/etc' });
    expect(byName['hard.txt'] ?? byName['one.txt']).toBeDefined();
    expect([byName['hard.txt']?.type, byName['one.txt']?.type].sort()).toEqual(['file', 'hard']);
    expect(byName['pipe']).toBeUndefined();
    for (const [name] of out.members) {
      expect(name.startsWith('/') || name.split('/').includes('..') || name.startsWith('model/'), name).toBe(false);
    }
    expect(readdirSync(join(box, 'model'))).toEqual(expect.arrayContaining(['deep', 'etc-link', 'hard.txt', LONG, 'model', 'one.txt']));
    // The run's log says what was left out, and why.
    expect(lines.map((l) => l.text)).toContainEqual(expect.stringMatching(/^\[cleanrooms-ml-local\] model\.tar\.gz: left out 1 entry of \/opt\/ml\/model: pipe: a fifo, not a file, folder or link\.$/));
  });
});
