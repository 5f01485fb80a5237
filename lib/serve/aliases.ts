/**
 * The names of a model repository and the rules over them: model names, version numbers,
 * alias names, the `aliases.json` file of a model, which version a request without one gets,
 * and which versions retention may delete. Nothing here loads a model; the repository
 * (repository.ts) calls these and owns the state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, ModelFormatError } from '../errors';
import { writeFileAtomic } from '../util/write-file-atomic';

/** The file in `DIR/<name>/` mapping alias names to versions. */
export const ALIASES_FILE = 'aliases.json';
/** The alias a request without a version gets (when it is set). */
export const CURRENT_ALIAS = 'current';
/** Versions kept besides `current` (and any aliased or in-use one) when retention runs. */
export const DEFAULT_KEEP_VERSIONS = 3;

const MODEL_NAME = /^[A-Za-z0-9._-]{1,128}$/;
// An alias starts with a letter, so `/versions/{v}` can take a version number or an alias.
const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;

export type Aliases = Record<string, number>;

/** A model name that is safe as one path segment: `[A-Za-z0-9._-]+`, and not `.` or `..`. */
export function checkModelName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name) || /^\.+$/.test(name)) {
    throw new InputError('invalid model name', { field, value: name, expected: 'a name of 1-128 characters from [A-Za-z0-9._-], not only dots' });
  }
  return name;
}

export function checkAliasName(alias: unknown, field = 'alias'): string {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias)) {
    throw new InputError('invalid alias name', { field, value: alias, expected: 'a letter, then up to 63 characters from [A-Za-z0-9._-]' });
  }
  return alias;
}

/** True for the directory name of a version: a positive integer without leading zeros. */
export function isVersionName(text: string): boolean {
  return VERSION.test(text);
}

export function checkVersion(version: unknown, field = 'version'): number {
  if (typeof version === 'number' && Number.isSafeInteger(version) && version >= 1 && version <= 999_999_999) return version;
  if (typeof version === 'string' && isVersionName(version)) return Number(version);
  throw new InputError('invalid version', { field, value: version, expected: 'a positive integer (at most 999999999)' });
}

/** The aliases of the model in `modelDir`; none when the file does not exist. */
export function readAliases(modelDir: string): Aliases {
  const file = path.join(modelDir, ALIASES_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ModelFormatError(`cannot read ${ALIASES_FILE} (${(e as NodeJS.ErrnoException).code})`, { file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${ALIASES_FILE} is not valid JSON (${(e as Error).message})`, { file, expected: 'an object of alias -> version' });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelFormatError(`${ALIASES_FILE} must hold an object`, { file, value: raw, expected: '{ "current": 3, ... }' });
  }
  const aliases: Aliases = {};
  for (const [alias, version] of Object.entries(raw)) {
    try {
      aliases[checkAliasName(alias)] = checkVersion(version, alias);
    } catch (e) {
      throw new ModelFormatError(`${ALIASES_FILE}: ${(e as Error).message}`, { file });
    }
  }
  return aliases;
}

/** Replaces `aliases.json` atomically: a reader sees the old file or the new one, never half of one. */
export function writeAliases(modelDir: string, aliases: Aliases): void {
  const sorted = Object.fromEntries(Object.keys(aliases).sort().map((k) => [k, aliases[k]]));
  writeFileAtomic(path.join(modelDir, ALIASES_FILE), JSON.stringify(sorted, null, 2) + '\n');
}

/** The version a request without one gets: `current` when it names an existing version, else the highest. */
export function defaultVersion(versions: readonly number[], aliases: Aliases): number | undefined {
  const current = aliases[CURRENT_ALIAS];
  if (current !== undefined && versions.includes(current)) return current;
  return versions.length > 0 ? Math.max(...versions) : undefined;
}

/**
 * The versions retention deletes: all but the default (`current`), the `keep` highest
 * others, every version an alias names and every version in `protectedVersions` (in use).
 */
export function retentionVictims(versions: readonly number[], aliases: Aliases, keep: number, protectedVersions: ReadonlySet<number> = new Set()): number[] {
  const current = defaultVersion(versions, aliases);
  const aliased = new Set(Object.values(aliases));
  const others = versions.filter((v) => v !== current).sort((a, b) => b - a);
  const kept = new Set(others.slice(0, Math.max(0, keep)));
  return others.filter((v) => !kept.has(v) && !aliased.has(v) && !protectedVersions.has(v)).sort((a, b) => a - b);
}
