/**
 * The files of a repository (Triton's layout, `DIR/<name>/<version>/`): listing models and
 * versions, copying a model directory in as the next version, and removing a version. A
 * version appears whole or not at all: it is copied into a hidden directory beside the
 * versions and renamed into place, and removed by the same rename in reverse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError } from '../errors';
import { readModelDirectory } from '../model/directory';
import { TRAIN_STATE_FILE, TRAIN_STATE_JSON } from '../train/checkpoint';
import { checkModelName, isVersionName } from './aliases';
import { VERSION_FILE, writePublishRecord } from './version-info';

/** Training state is for resuming a run, not for serving; it stays behind. */
const NOT_PUBLISHED = new Set([TRAIN_STATE_FILE, TRAIN_STATE_JSON]);

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** Model names under `root` (directories with valid names), sorted. */
export function listModelNames(root: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (e) {
    throw new ModelFormatError(`cannot read the model repository (${(e as NodeJS.ErrnoException).code})`, { file: root, expected: 'a readable directory' });
  }
  return entries.filter((e) => (e.isDirectory() || (e.isSymbolicLink() && isDirectory(path.join(root, e.name)))) && !e.name.startsWith('.'))
    .map((e) => e.name).filter((name) => {
      try {
        checkModelName(name);
        return true;
      } catch {
        return false;
      }
    }).sort();
}

/** The versions in `DIR/<name>/`, ascending; other entries (aliases.json, hidden work directories) are not versions. */
export function listVersions(modelDir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(modelDir);
  } catch {
    return [];
  }
  return names.filter((n) => isVersionName(n) && isDirectory(path.join(modelDir, n))).map(Number).sort((a, b) => a - b);
}

/** fsync of a file or a directory: a version renamed into place after this survives a power cut whole. */
export function syncToDisk(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function hiddenPath(modelDir: string, what: string): string {
  return path.join(modelDir, `.${what}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
}

/**
 * Copies the model directory `source` into `modelDir` as the next free version, after
 * checking that it loads. Returns the version.
 */
export function copyInAsNextVersion(modelDir: string, source: string): number {
  const { dir: from } = readModelDirectory(source);
  fs.mkdirSync(modelDir, { recursive: true });
  const staging = hiddenPath(modelDir, 'publish');
  fs.mkdirSync(staging);
  try {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      if (entry.isFile() && !NOT_PUBLISHED.has(entry.name)) {
        fs.copyFileSync(path.join(from, entry.name), path.join(staging, entry.name));
        syncToDisk(path.join(staging, entry.name));
      }
    }
    // Another publisher may take a number between our listing and our rename; the rename
    // onto its (non-empty) directory then fails and we try the next number.
    for (let attempt = 0; attempt < 100; attempt++) {
      const version = Math.max(0, ...listVersions(modelDir)) + 1;
      writePublishRecord(staging, { version, created: new Date().toISOString(), source: from });
      syncToDisk(path.join(staging, VERSION_FILE));
      syncToDisk(staging);
      try {
        fs.renameSync(staging, path.join(modelDir, String(version)));
        syncToDisk(modelDir);
        return version;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      }
    }
    throw new ModelFormatError('could not claim a version number', { file: modelDir, expected: 'fewer concurrent publishers' });
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Removes `DIR/<name>/<version>/`: renamed away first, so no reader sees half a version. */
export function removeVersionFiles(modelDir: string, version: number): void {
  const dir = path.join(modelDir, String(version));
  if (!fs.existsSync(dir)) return;
  const doomed = hiddenPath(modelDir, `deleted-${version}`);
  fs.renameSync(dir, doomed);
  fs.rmSync(doomed, { recursive: true, force: true });
}
