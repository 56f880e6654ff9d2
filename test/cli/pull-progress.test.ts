import { describe, expect, it } from 'vitest';
import { pullProgressRenderer } from '../../src/cli/pull-progress.js';

function stream(isTTY: boolean) {
  let written = '';
  return { out: { isTTY, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream, written: () => written };
}

describe('pull progress in the CLI', () => {
  it('redraws one line per layer in place on a terminal', () => {
    const s = stream(true);
    const draw = pullProgressRenderer(s.out);
    draw('arn', { id: 'aaa', status: 'Downloading', progress: '[=>  ] 1MB/4MB' });
    draw('arn', { id: 'bbb', status: 'Waiting' });
    draw('arn', { id: 'aaa', status: 'Pull complete' });
    const last = s.written().split('\u001b[2A').pop()!;
    expect(last).toBe('\u001b[2Kaaa: Pull complete\n\u001b[2Kbbb: Waiting\n');
  });

  it('draws nothing off a terminal', () => {
    const s = stream(false);
    pullProgressRenderer(s.out)('arn', { id: 'aaa', status: 'Downloading' });
    expect(s.written()).toBe('');
  });
});
