import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApi } from '../../scripts/generate-api.js';

describe('src/api/generated', () => {
  it('is what the generator writes from the service model today (run `npm run generate` when this fails)', () => {
    const out = mkdtempSync(join(tmpdir(), 'crml-gen-'));
    try {
      generateApi(out);
      const committed = join(import.meta.dirname, '../../src/api/generated');
      const files = readdirSync(out).sort();
      expect(readdirSync(committed).sort()).toEqual(files);
      for (const f of files) expect(readFileSync(join(committed, f), 'utf8'), f).toBe(readFileSync(join(out, f), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
