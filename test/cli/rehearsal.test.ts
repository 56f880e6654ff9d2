import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { warm } from '../../src/cli/bundle-entry.js';

const rehearsalFolders = () => readdirSync(tmpdir()).filter((f) => f.startsWith('crml-rehearsal-'));

describe("a resident worker's rehearsal (warm)", () => {
  it('goes through a whole no-op run against its stand-in engine, and leaves no folder, variable or handler behind', async () => {
    const before = { env: { ...process.env }, folders: rehearsalFolders(), sigint: process.listenerCount('SIGINT'), exit: process.listenerCount('exit') };
    // Exit 0: the run ended ACTIVE, so every step of it (runner, packaging, manifest, store, summary) was rehearsed.
    expect(await warm()).toBe(0);
    expect(process.env).toEqual(before.env);
    expect(rehearsalFolders()).toEqual(before.folders);
    expect(process.listenerCount('SIGINT')).toBe(before.sigint);
    expect(process.listenerCount('exit')).toBe(before.exit);
  }, 60_000);
});
