import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { demuxLogStream } from '../../src/runner/log-demuxer.js';
import { LogFollower } from '../../src/runner/log-follower.js';
import { packageFolder } from '../../src/runner/artifact-packager.js';
import { endedForMemory } from '../../src/runner/docker-engine.js';
import type { LogLine } from '../../src/runner/types.js';
import { engineFrame } from '../helpers/job-spec.js';

// What Podman's compatible API gives differently from Docker's (infra.md, "Podman as the engine"), each made equal.

const frame = engineFrame;

describe('Podman differences, made equal', () => {
  it('joins a partial line Podman sends as a frame of its own with the rest of it, per stream', async () => {
    // `printf 'loss='; …; echo 0.5` on Podman: `loss=` and `0.5\n` are two frames, stderr frames in between.
    const raw = Readable.from([frame(1, 'loss='), frame(2, 'warn'), frame(1, '0.5\n'), frame(2, 'ing\n'), frame(1, 'x'), frame(1, '\n')]);
    const lines: LogLine[] = [];
    const metrics: number[] = [];
    const follower = new LogFollower({
      events: { onLogLine: (l) => void lines.push(l), onMetric: (p) => void metrics.push(p.value) },
      host: 'algo-1',
      metricDefinitions: [{ name: 'loss', regex: 'loss=([0-9.]+)' }],
    });
    await follower.follow(demuxLogStream(raw));
    const of = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.text);
    expect([of('stdout'), of('stderr')]).toEqual([['loss=0.5', 'x'], ['warning']]);
    expect(metrics).toEqual([0.5]);
  });

  it('packages a folder the same whether its entries end in `/` (Docker) or not (Podman)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crml-podman-tar-'));
    try {
      const listing = async (folderNames: string[]) => {
        const pack = tar.pack();
        pack.entry({ name: folderNames[0]!, type: 'directory', mode: 0o755 });
        pack.entry({ name: folderNames[1]!, type: 'directory', mode: 0o755 });
        pack.entry({ name: 'model/sub/model.json', mode: 0o644 }, '{}');
        pack.finalize();
        const out = join(dir, `${folderNames[0]!.length}.tar.gz`);
        await packageFolder(pack as unknown as Readable, out);
        return execFileSync('tar', ['-tzf', out], { encoding: 'utf8' });
      };
      const docker = await listing(['model/', 'model/sub/']);
      expect(docker).toBe('sub/\nsub/model.json\n');
      expect(await listing(['model', 'model/sub'])).toBe(docker);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a SIGKILL exit under a memory limit as OOM only where the engine does not report OOM kills', () => {
    const killed = { OOMKilled: false, Running: false, ExitCode: 137 };
    // Podman 4: OOMKilled stays false after an OOM kill.
    expect(endedForMemory(killed, 64 * 2 ** 20, false)).toBe(true);
    expect(endedForMemory({ ...killed, ExitCode: 1 }, 64 * 2 ** 20, false)).toBe(false);
    expect(endedForMemory(killed, 0, false)).toBe(false);
    // Docker reports it: a SIGKILL that was not for memory stays a plain failure.
    expect(endedForMemory(killed, 64 * 2 ** 20, true)).toBe(false);
    expect(endedForMemory({ ...killed, OOMKilled: true }, 64 * 2 ** 20, true)).toBe(true);
  });
});
