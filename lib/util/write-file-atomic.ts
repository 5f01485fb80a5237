/** Files written whole or not at all. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `data` to a temporary file beside `file`, then renames it over `file`: a crash
 * mid-write leaves the old file (or none), never a torn one. The rename is atomic within a
 * directory, which is why the temporary file lives in the same one.
 */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
