/** Files written whole or not at all. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `data` to a temporary file beside `file`, fsyncs it, then renames it over `file`: a
 * crash mid-write leaves the old file (or none), never a torn one. The rename is atomic within
 * a directory, which is why the temporary file lives in the same one. An array of parts is
 * written one after another, never joined in memory (a large weight file is not copied twice).
 */
export function writeFileAtomic(file: string, data: Buffer | string | readonly Buffer[]): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      const parts = typeof data === 'string' ? [Buffer.from(data)] : Array.isArray(data) ? data : [data as Buffer];
      for (const part of parts) {
        for (let done = 0; done < part.length;) done += fs.writeSync(fd, part, done, part.length - done);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
