import { chmod, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface MaterializedDataSummary {
  numberOfFiles: number;
  sizeInBytes: number;
}

/** Makes written channel data read-only (files 0444, folder 0555) and measures it. */
export async function sealMaterializedData(outDir: string): Promise<MaterializedDataSummary> {
  let sizeInBytes = 0;
  const files = await readdir(outDir, { withFileTypes: true });
  for (const f of files) {
    const p = join(outDir, f.name);
    sizeInBytes += (await stat(p)).size;
    await chmod(p, 0o444);
  }
  await chmod(outDir, 0o555);
  return { numberOfFiles: files.length, sizeInBytes };
}

/** DeleteMLInputChannelData: gives the folder its write permission back, then removes it and its files. */
export async function removeMaterializedData(outDir: string): Promise<void> {
  try {
    await chmod(outDir, 0o755);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await rm(outDir, { recursive: true, force: true });
}
