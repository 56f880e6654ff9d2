import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { drainLogs, LogFollower } from '../../src/runner/log-follower.js';

/** A follower over two streams the test writes, with every delivered line kept. */
function follower() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const lines: string[] = [];
  const f = new LogFollower({ events: { onLogLine: (l) => void lines.push(l.text), onMetric: () => undefined }, host: 'algo-1', metricDefinitions: [] });
  const done = f.follow({ stdout, stderr, done: Promise.resolve() });
  return { f, stdout, stderr, lines, done };
}

describe('drainLogs: after the containers ended', () => {
  it('waits however long a lagging stream keeps delivering, so no line is dropped', async () => {
    const { f, stdout, stderr, lines, done } = follower();
    // Keeps delivering for 5x the quiet period: a fixed deadline would have cut it off.
    let i = 0;
    const timer = setInterval(() => {
      stdout.write(`line ${++i}\n`);
      if (i === 25) {
        clearInterval(timer);
        stdout.end();
        stderr.end();
      }
    }, 10);
    expect(await drainLogs(done, [f], 50)).toBe(true);
    expect(lines).toHaveLength(25);
  });

  it('gives up on a stream that delivers nothing for the quiet period', async () => {
    const { f, stdout, done } = follower();
    stdout.write('only line\n');
    const started = Date.now();
    expect(await drainLogs(done, [f], 100)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
