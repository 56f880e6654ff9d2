import { afterAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerEngine } from '../../src/runner/docker-engine.js';
import { LogFollower } from '../../src/runner/log-follower.js';
import type { LogLine } from '../../src/runner/types.js';
import { engineFrame } from '../helpers/job-spec.js';

const LABEL = 'crml-test-attach-exactly-once';

/** Every line the follower delivered, per stream, and which texts came more than once. */
function collect(): { lines: LogLine[]; follower: LogFollower; repeated: (stream: 'stdout' | 'stderr') => string[] } {
  const lines: LogLine[] = [];
  const follower = new LogFollower({ events: { onLogLine: (l) => lines.push(l), onMetric: () => undefined }, host: 'algo-1', metricDefinitions: [] });
  const repeated = (stream: 'stdout' | 'stderr') => {
    const seen = new Set<string>();
    const twice: string[] = [];
    for (const l of lines) {
      if (l.stream !== stream) continue;
      if (seen.has(l.text)) twice.push(l.text);
      else seen.add(l.text);
    }
    return twice;
  };
  return { lines, follower, repeated };
}

/**
 * Docker's attach, as moby's ContainerAttach does it: the attach joins the container's live output first, answers
 * (101, so the client goes on to start the container), and only then, if asked for `logs`, copies the log file as it
 * is at that moment, before the live output it buffered meanwhile. On a loaded engine that copy comes after the start,
 * so whatever the container printed in between is in both.
 */
function engineWithLateLogCopy(lines: number): Docker {
  const log: Buffer[] = [];
  const attaches: { raw: PassThrough; live: Buffer[]; logs: boolean }[] = [];
  const container = {
    attach: async (opts: { logs?: boolean }) => {
      const a = { raw: new PassThrough(), live: [] as Buffer[], logs: opts.logs === true };
      attaches.push(a);
      return a.raw;
    },
    start: async () => {
      for (let i = 1; i <= lines; i++) {
        const f = engineFrame(i % 2 ? 1 : 2, `line ${i}\n`);
        log.push(f);
        for (const a of attaches) a.live.push(f);
      }
      // The attach handler gets its turn only now, the container already done.
      setImmediate(() => {
        for (const a of attaches) {
          if (a.logs) for (const f of log) a.raw.write(f);
          for (const f of a.live) a.raw.write(f);
          a.raw.end();
        }
      });
    },
  };
  return { getContainer: () => container, version: async () => ({ Components: [] }) } as unknown as Docker;
}

describe('attached output: every line exactly once', () => {
  it('does not also replay the engine log it attached to, when the engine copies that log after the start', async () => {
    const engine = new DockerEngine(engineWithLateLogCopy(1000), { endpoint: 'unix:///fake', sharesHostFilesystem: true });
    const { lines, follower, repeated } = collect();
    const output = await engine.attachOutput('c1');
    await engine.startContainer('c1');
    await follower.follow(output);
    expect(repeated('stdout')).toEqual([]);
    expect(repeated('stderr')).toEqual([]);
    expect(lines.filter((l) => l.stream === 'stdout')).toHaveLength(500);
    expect(lines.filter((l) => l.stream === 'stderr')).toHaveLength(500);
  });

  describe('on the real engine', () => {
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const engine = new DockerEngine(docker, { endpoint: 'unix:///var/run/docker.sock', sharesHostFilesystem: true });

    afterAll(async () => {
      for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL] } })) await docker.getContainer(c.Id).remove({ force: true });
    });

    it('keeps stdout and stderr apart, each line once, when the container exits while the reader is behind', async () => {
      const n = 100_000;
      const id = (
        await docker.createContainer({
          Image: 'crml-examples/probe:latest',
          Entrypoint: ['/bin/sh', '-c', `seq 1 ${n} | sed 's/^/out /' & seq 1 ${n} | sed 's/^/err /' >&2; wait`],
          Labels: { [LABEL]: '1' },
          AttachStdout: true,
          AttachStderr: true,
          HostConfig: { NetworkMode: 'none' },
        })
      ).id;
      const output = await engine.attachOutput(id);
      await engine.startContainer(id);
      // A slow reader: the stream is not read for a while, then in bursts with pauses, so the container ends first.
      const exited = engine.waitContainer(id);
      await sleep(300);
      const slow = (s: PassThrough) => {
        const out = new PassThrough({ highWaterMark: 1024 });
        void (async () => {
          let chunks = 0;
          for await (const c of s) {
            if (!out.write(c)) await new Promise((r) => out.once('drain', r));
            if (++chunks % 50 === 0) await sleep(5);
          }
          out.end();
        })();
        return out;
      };
      const { lines, follower, repeated } = collect();
      await follower.follow({ stdout: slow(output.stdout as PassThrough), stderr: slow(output.stderr as PassThrough), done: output.done });
      expect(await exited).toBe(0);
      const out = lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
      const err = lines.filter((l) => l.stream === 'stderr').map((l) => l.text);
      expect(repeated('stdout')).toEqual([]);
      expect(repeated('stderr')).toEqual([]);
      expect(out).toEqual(Array.from({ length: n }, (_, i) => `out ${i + 1}`));
      expect(err).toEqual(Array.from({ length: n }, (_, i) => `err ${i + 1}`));
    }, 120_000);
  });
});
