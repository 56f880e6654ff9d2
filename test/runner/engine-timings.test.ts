import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { withEngineTimings } from '../../src/runner/engine-timings.js';
import type { ContainerEngine } from '../../src/runner/container-engine.js';

/** An engine of two calls, one that fails; nothing else is called here. */
function engine(): ContainerEngine {
  return {
    endpoint: 'unix:///var/run/docker.sock',
    sharesHostFilesystem: true,
    startContainer: async () => undefined,
    removeContainer: async () => {
      throw new Error('refused');
    },
  } as unknown as ContainerEngine;
}

function logger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}

describe('withEngineTimings (CRML_LOG_LEVEL=debug)', () => {
  it('logs every engine call with what it acted on, its duration and whether it failed', async () => {
    const { log, lines } = logger('debug');
    const timed = withEngineTimings(engine(), log);
    expect(timed.endpoint).toBe('unix:///var/run/docker.sock');
    await timed.startContainer('c0ffee');
    await expect(timed.removeContainer('c0ffee')).rejects.toThrow('refused');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.msg, l.call, l.on, l.failed])).toEqual([
      ['engine call', 'startContainer', 'c0ffee', undefined],
      ['engine call', 'removeContainer', 'c0ffee', true],
    ]);
    expect(lines.every((l) => typeof l.ms === 'number' && typeof l.at === 'number' && l.engine === 'unix:///var/run/docker.sock')).toBe(true);
  });

  it('is the engine itself, untouched, when debug logging is off', () => {
    const e = engine();
    expect(withEngineTimings(e, logger('info').log)).toBe(e);
  });
});
