import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCircular, parseDependencyTree } from 'dpdm';

const root = join(import.meta.dirname, '..', '..');
const src = join(root, 'src');

/** Every TypeScript file under src/, so that a module no entry point reaches is checked too. */
function sourceFiles(): string[] {
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('src/', () => {
  it('has no import cycle, type-only imports included', async () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const tree = await parseDependencyTree(files, { context: root, tsconfig: join(root, 'tsconfig.json'), transform: false, skipDynamicImports: false });
    const cycles = parseCircular(tree).map((c) => c.map((f) => relative(root, join(root, f))).join(' -> '));
    expect(cycles).toEqual([]);
  });
});
