/**
 * The model repository on disk: names that cannot escape the directory, aliases.json,
 * the default version, retention (current + the last N, never an aliased or in-use version),
 * publishing (whole versions only) and the `trm publish` command.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError, InputError, ModelFormatError, NotFoundError, UnavailableError } from '../../lib';
import {
  checkAliasName, checkModelName, checkVersion, defaultVersion, readAliases, retentionVictims, writeAliases,
} from '../../lib/serve/aliases';
import { ModelRepository } from '../../lib/serve/repository';
import { cliIsFresh, trm } from '../helpers/cli';
import { SHIPPED, cleanup } from '../helpers/serve';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-repo-'));
afterAll(async () => {
  await cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('names', () => {
  it.each(['sudoku4', 'a.b-c_D', '1', 'x'.repeat(128)])('accepts model name %s', (name) => expect(checkModelName(name)).toBe(name));
  it.each(['', '.', '..', '...', '../x', 'a/b', 'a\\b', 'a b', 'é', 'x'.repeat(129), 5])('refuses model name %s', (name) => {
    expect(() => checkModelName(name)).toThrow(InputError);
  });
  it('takes aliases that start with a letter, so they never read as versions', () => {
    expect(checkAliasName('current')).toBe('current');
    for (const bad of ['1', '9lives', '', 'a/b', '.x']) expect(() => checkAliasName(bad)).toThrow(InputError);
  });
  it('takes positive versions without leading zeros', () => {
    expect(checkVersion(3)).toBe(3);
    expect(checkVersion('12')).toBe(12);
    for (const bad of [0, -1, 1.5, '01', '0', 'x', 1e10]) expect(() => checkVersion(bad)).toThrow(InputError);
  });
});

describe('aliases and retention', () => {
  it('writes aliases.json atomically and reads it back; a bad file is a ModelFormatError', () => {
    const dir = path.join(tmp, 'aliases');
    fs.mkdirSync(dir);
    expect(readAliases(dir)).toEqual({});
    writeAliases(dir, { previous: 1, current: 2 });
    expect(readAliases(dir)).toEqual({ current: 2, previous: 1 });
    expect(fs.readdirSync(dir)).toEqual(['aliases.json']);
    fs.writeFileSync(path.join(dir, 'aliases.json'), '{"current": "two"}');
    expect(() => readAliases(dir)).toThrow(ModelFormatError);
    fs.writeFileSync(path.join(dir, 'aliases.json'), '[1');
    expect(() => readAliases(dir)).toThrow(/not valid JSON/);
  });

  it('defaults to current when it exists, else the highest version', () => {
    expect(defaultVersion([1, 2, 3], { current: 2 })).toBe(2);
    expect(defaultVersion([1, 2, 3], {})).toBe(3);
    expect(defaultVersion([1, 3], { current: 2 })).toBe(3);
    expect(defaultVersion([], {})).toBeUndefined();
  });

  it('keeps current and the last N others, and every aliased or in-use version', () => {
    const all = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(retentionVictims(all, { current: 8 }, 3)).toEqual([1, 2, 3, 4]);
    expect(retentionVictims(all, { current: 2 }, 3)).toEqual([1, 3, 4, 5]);
    expect(retentionVictims(all, {}, 3)).toEqual([1, 2, 3, 4]);
    expect(retentionVictims(all, { current: 8, previous: 1 }, 3)).toEqual([2, 3, 4]);
    expect(retentionVictims(all, { current: 8 }, 3, new Set([3]))).toEqual([1, 2, 4]);
    expect(retentionVictims(all, { current: 8 }, 0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(retentionVictims([1, 2], {}, 3)).toEqual([]);
  });
});

describe('publish', () => {
  it('adds whole versions, points an alias, and applies retention', async () => {
    const root = path.join(tmp, 'publish');
    const repo = new ModelRepository({ root, keepVersions: 2 });
    const source = path.join(SHIPPED, 'sudoku-4x4');
    expect((await repo.publish(source, { name: 'm' })).version).toBe(1);
    expect((await repo.publish(source, { name: 'm', alias: 'current' })).version).toBe(2);
    expect(await repo.publish(source, { name: 'm' })).toEqual({ version: 3, deleted: [] });
    expect(await repo.publish(source, { name: 'm' })).toEqual({ version: 4, deleted: [1] });
    expect(await repo.publish(source, { name: 'm' })).toEqual({ version: 5, deleted: [3] });
    expect(fs.readdirSync(path.join(root, 'm')).sort()).toEqual(['2', '4', '5', 'aliases.json']);
    expect(readAliases(path.join(root, 'm'))).toEqual({ current: 2 });
    const files = fs.readdirSync(path.join(root, 'm', '5')).sort();
    expect(files).toEqual(['README.md', 'config.json', 'model.safetensors', 'version.json']);
    expect(fs.readFileSync(path.join(root, 'm', '5', 'model.safetensors'))).toEqual(fs.readFileSync(path.join(source, 'model.safetensors')));
  });

  it('refuses a bad source or name, leaving nothing behind', async () => {
    const root = path.join(tmp, 'refuse');
    const repo = new ModelRepository({ root });
    await expect(repo.publish(path.join(tmp, 'missing'), { name: 'm' })).rejects.toThrow(ModelFormatError);
    await expect(repo.publish(path.join(SHIPPED, 'maze'), { name: '../escape' })).rejects.toThrow(InputError);
    await expect(repo.publish(path.join(SHIPPED, 'maze'), { name: 'm', alias: '7' })).rejects.toThrow(InputError);
    expect(fs.existsSync(path.join(tmp, 'escape'))).toBe(false);
    expect(fs.existsSync(root) ? fs.readdirSync(root).flatMap((m) => fs.readdirSync(path.join(root, m))) : []).toEqual([]);
  });

  it('refuses to write to the shipped models', async () => {
    const repo = new ModelRepository({});
    await expect(repo.publish(path.join(SHIPPED, 'maze'), { name: 'maze' })).rejects.toThrow(ConflictError);
    await expect(repo.setAlias('maze', 'current', 1)).rejects.toThrow(ConflictError);
    expect(() => repo.state('nope')).toThrow(NotFoundError);
  });

  it('never deletes a version a request is using', async () => {
    const root = path.join(tmp, 'in-use');
    const repo = new ModelRepository({ root, keepVersions: 0, load: { threads: 1 } });
    const source = path.join(SHIPPED, 'sudoku-4x4');
    await repo.publish(source, { name: 'm' });
    await repo.start();
    let release!: () => void;
    const holding = repo.use('m', '1', () => new Promise<void>((resolve) => { release = resolve; }));
    await new Promise((resolve) => setImmediate(resolve));
    const { deleted } = await repo.publish(source, { name: 'm' });
    expect(deleted).toEqual([]);
    expect(() => repo.deleteVersion('m', 1)).toThrow(/in use/);
    release();
    await holding;
    repo.deleteVersion('m', 1);
    expect(fs.readdirSync(path.join(root, 'm'))).toEqual(['2']);
    await repo.close();
  });
});

describe('a running repository', () => {
  it('serves what is published into it at once, and a model found on disk does not cost readiness', async () => {
    const root = path.join(tmp, 'running');
    const repo = new ModelRepository({ root, load: { threads: 1 } });
    await repo.publish(path.join(SHIPPED, 'sudoku-4x4'), { name: 'a' });
    await repo.start();
    expect(repo.ready).toBe(true);
    // Published in-process (as a training job would): a new model, then a new current version.
    await repo.publish(path.join(SHIPPED, 'sudoku-4x4'), { name: 'b' });
    expect(repo.isReady('b')).toBe(true);
    await repo.publish(path.join(SHIPPED, 'sudoku-4x4'), { name: 'a', alias: 'current' });
    expect(await repo.use('a', undefined, async (v) => v.version)).toBe(2);
    // Published by another process: listed, not loaded, and the server stays ready.
    await new ModelRepository({ root }).publish(path.join(SHIPPED, 'maze'), { name: 'c' });
    expect(repo.index().filter((e) => e.name === 'c')).toEqual([{ name: 'c', version: '1', state: 'UNAVAILABLE', reason: 'not loaded' }]);
    expect(repo.ready).toBe(true);
    await expect(repo.use('c', undefined, async () => 0)).rejects.toThrow(/not ready/);
    await repo.load('c');
    expect(await repo.use('c', undefined, async (v) => v.config.seq_len)).toBe(81);
    await repo.close();
    expect(repo.ready).toBe(false);
  });
});

describe('broken versions', () => {
  it('a model that fails to load keeps the server unready and says why; a broken old version answers 503', async () => {
    const root = path.join(tmp, 'broken');
    const setup = new ModelRepository({ root });
    for (let i = 0; i < 2; i++) await setup.publish(path.join(SHIPPED, 'sudoku-4x4'), { name: 'good' });
    await setup.publish(path.join(SHIPPED, 'sudoku-4x4'), { name: 'bad' });
    fs.writeFileSync(path.join(root, 'bad', '1', 'model.safetensors'), 'not safetensors');
    fs.writeFileSync(path.join(root, 'good', '1', 'model.safetensors'), 'not safetensors');
    const repo = new ModelRepository({ root, load: { threads: 1 } });
    await repo.start();
    expect(repo.ready).toBe(false);
    expect(repo.notReady()).toEqual([expect.stringMatching(/^bad \(.*model\.safetensors/)]);
    expect(repo.state('bad').state).toBe('UNAVAILABLE');
    await expect(repo.use('bad', undefined, async () => 0)).rejects.toThrow(UnavailableError);
    // good/2 serves; good/1 (not loaded at start) fails on its first request, as a 503.
    expect(await repo.use('good', undefined, async (v) => v.version)).toBe(2);
    await expect(repo.use('good', '1', async () => 0)).rejects.toThrow(/version 1 cannot be loaded/);
    expect(await repo.use('good', '2', async (v) => v.version)).toBe(2);
    // Fixed on disk and loaded again: ready.
    fs.copyFileSync(path.join(SHIPPED, 'sudoku-4x4', 'model.safetensors'), path.join(root, 'bad', '1', 'model.safetensors'));
    await repo.load('bad');
    expect(repo.ready).toBe(true);
    await repo.close();
  });
});

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/serve']);
describe.skipIf(!built)('trm publish', () => {
  it('publishes with an alias and reports retention', () => {
    const root = path.join(tmp, 'cli');
    for (let i = 0; i < 4; i++) {
      const r = trm(['publish', path.join(SHIPPED, 'sudoku-4x4'), '--repository', root, '--name', 's4', ...(i === 0 ? ['--alias', 'current'] : []), '--keep', '1']);
      expect(r.status, r.out).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`as s4 version ${i + 1}`));
      if (i >= 2) expect(r.stdout).toMatch(new RegExp(`retention removed version ${i}\n`));
    }
    expect(fs.readdirSync(path.join(root, 's4')).sort()).toEqual(['1', '4', 'aliases.json']);
    const bad = trm(['publish', path.join(SHIPPED, 'sudoku-4x4'), '--repository', root]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--name/);
  });
});
