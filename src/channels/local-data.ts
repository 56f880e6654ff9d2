import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

export interface LocalDataDescription {
  numberOfFiles: number;
  sizeInBytes: number;
  /** PARQUET when every data file is .parquet, else CSV (the service's default result format). */
  resultFormat: 'CSV' | 'PARQUET';
}

/** Walks a channel's folder once (no file contents read) to describe it. */
export function describeLocalData(root: string): LocalDataDescription {
  let numberOfFiles = 0;
  let sizeInBytes = 0;
  let parquet = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        numberOfFiles += 1;
        sizeInBytes += statSync(p).size;
        if (extname(entry.name).toLowerCase() === '.parquet') parquet += 1;
      }
    }
  };
  walk(root);
  return { numberOfFiles, sizeInBytes, resultFormat: numberOfFiles > 0 && parquet === numberOfFiles ? 'PARQUET' : 'CSV' };
}
