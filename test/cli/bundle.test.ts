import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);

/** The bundled CLI that `bin` names (built here as `npm run build` builds it), run as `npx crml` runs it. */
describe('the bundled CLI (dist/bin/crml.js)', () => {
  const bin = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin.crml as string;

  beforeAll(async () => {
    await run('node', ['scripts/bundle-cli.mjs'], { cwd: ROOT, timeout: 120_000 });
  }, 120_000);

  it('is what package.json names as the crml command', () => {
    expect(bin).toBe('dist/bin/crml.js');
  });

  it('answers --help with the grouped commands', async () => {
    const { stdout } = await run('node', [bin, '--help'], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(/^Usage: crml/);
    expect(stdout).toContain('list-trained-models');
    expect(stdout).toContain('serve');
  });

  it('runs a real API command against its data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crml-bundle-'));
    try {
      const { stdout } = await run('node', [bin, 'list-trained-models'], {
        cwd: ROOT,
        env: { ...process.env, CRML_DATA_DIR: dataDir },
        timeout: 60_000,
      });
      expect(JSON.parse(stdout)).toEqual({ trainedModels: [] });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names a bad command as the source CLI does, with its exit code', async () => {
    const err = await run('node', [bin, 'get-trained-model', '--trained-model-arn', 'nope'], {
      cwd: ROOT,
      env: { ...process.env, CRML_DATA_DIR: mkdtempSync(join(tmpdir(), 'crml-bundle-')) },
      timeout: 60_000,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(254);
    expect((err as { stderr: string }).stderr).toMatch(/\(ValidationException\) when calling the GetTrainedModel operation/);
  });
});
