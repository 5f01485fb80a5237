/**
 * The model repository a server serves: which models and versions exist (on disk, Triton's
 * layout, or the package's shipped models as version 1 each, read-only), which are loaded,
 * their aliases, and who is using what. Every request takes a version with `use`, which
 * resolves the alias at that moment and holds the version until the request ends: moving an
 * alias never disturbs a request in flight, and a version in use is never unloaded or
 * deleted under it.
 *
 * Loading: at start and on `load(name)`, a model's default version and every aliased one
 * load; any other version loads on its first request. A model that failed to load, or was
 * unloaded, answers 503 until it is loaded again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, NotFoundError, TrmError, UnavailableError } from '../errors';
import { CONFIG_FILE } from '../model/directory';
import { loadModel } from '../trm-model';
import type { InferResult, LoadOptions } from '../types';
import {
  Aliases, CURRENT_ALIAS, DEFAULT_KEEP_VERSIONS, checkAliasName, checkModelName, checkVersion, defaultVersion, isVersionName,
  readAliases, retentionVictims, writeAliases,
} from './aliases';
import { BatchSettings, DEFAULT_BATCH_SETTINGS } from './batcher';
import { LoadedVersion } from './loaded-version';
import { copyInAsNextVersion, listModelNames, listVersions, removeVersionFiles } from './publish';
import { VersionMetadata, versionMetadata } from './version-info';

export { LoadedVersion };

/** Triton's model states, as the repository index reports them. */
export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

/** What the metrics module hears from the repository. */
export interface RepositoryObserver {
  loaded?(name: string, version: number, seconds: number): void;
  batch?(name: string, version: number, samples: number, requests: number): void;
  queueDepth?(name: string, version: number, samples: number): void;
  answered?(name: string, version: number, result: InferResult): void;
}

export interface RepositoryOptions {
  /** The repository directory (`DIR/<name>/<version>/`). Without it, `fixed` (default: the shipped models) is served read-only. */
  root?: string;
  /** name -> model directory, each served as version 1, read-only. */
  fixed?: Record<string, string>;
  /** How every version loads (threads, isa, precision); the native backend. */
  load?: LoadOptions;
  batch?: Partial<BatchSettings>;
  /** Versions retention keeps besides `current` (and aliased or in-use ones). Default 3. */
  keepVersions?: number;
  observer?: RepositoryObserver;
}

/** The package's shipped models (models/<name>), by name. */
export function shippedModels(): Record<string, string> {
  const root = path.resolve(__dirname, '..', '..', 'models');
  return Object.fromEntries(listModelNames(root).filter((name) => fs.existsSync(path.join(root, name, CONFIG_FILE))).map((name) => [name, path.join(root, name)]));
}

interface ModelEntry {
  name: string;
  /** Asked to be served (at start or by load); false once unloaded, and for a model merely found on disk. */
  wanted: boolean;
  state: ModelState;
  reason: string | null;
  versions: number[];
  aliases: Aliases;
  loaded: Map<number, LoadedVersion>;
  loading: Map<number, Promise<LoadedVersion>>;
}

export interface IndexEntry { name: string; version: string; state: ModelState; reason: string }

export interface ModelSummary {
  name: string;
  state: ModelState;
  reason: string | null;
  defaultVersion: number | null;
  aliases: Aliases;
  versions: Array<{ version: number; loaded: boolean; inFlight: number; metadata: VersionMetadata | null }>;
}

export class ModelRepository {
  readonly root: string | null;
  readonly readOnly: boolean;
  readonly keepVersions: number;
  private readonly fixed: Record<string, string> | null;
  private readonly loadOptions: LoadOptions;
  private readonly batch: BatchSettings;
  private observer: RepositoryObserver;
  /** What loaded versions report to: forwards to whichever observer is attached now. */
  private readonly relay: RepositoryObserver = {
    loaded: (...a) => this.observer.loaded?.(...a),
    batch: (...a) => this.observer.batch?.(...a),
    queueDepth: (...a) => this.observer.queueDepth?.(...a),
    answered: (...a) => this.observer.answered?.(...a),
  };
  private readonly models = new Map<string, ModelEntry>();
  private closed = false;
  private started = false;

  constructor(options: RepositoryOptions = {}) {
    this.root = options.root !== undefined ? path.resolve(options.root) : null;
    this.fixed = this.root === null ? (options.fixed ?? shippedModels()) : null;
    this.readOnly = this.root === null;
    this.loadOptions = { ...options.load, backend: 'native' };
    this.batch = { ...DEFAULT_BATCH_SETTINGS, ...options.batch };
    this.keepVersions = options.keepVersions ?? DEFAULT_KEEP_VERSIONS;
    this.observer = options.observer ?? {};
  }

  /** Where loads, batches and answers are reported (the server's metrics). */
  attach(observer: RepositoryObserver): void {
    this.observer = observer;
  }

  get batchSettings(): BatchSettings {
    return { ...this.batch };
  }

  /** Loads every model in the repository; one that fails is marked UNAVAILABLE with the reason. */
  async start(): Promise<void> {
    for (const name of this.namesOnDisk()) await this.load(name).catch(() => undefined);
    this.started = true;
  }

  /** True when every model that should be loaded is: Triton's strict readiness. */
  get ready(): boolean {
    if (this.closed || !this.started) return false;
    for (const entry of this.models.values()) {
      if (entry.wanted && entry.state !== 'READY') return false;
    }
    return true;
  }

  /** The models that keep the server from being ready, with the reason. */
  notReady(): string[] {
    return [...this.models.values()].filter((e) => e.wanted && e.state !== 'READY').map((e) => `${e.name} (${e.reason ?? e.state.toLowerCase()})`);
  }

  names(): string[] {
    return [...this.models.keys()].sort();
  }

  /** The model's state; throws NotFoundError for a model the repository does not hold. */
  state(name: string): { state: ModelState; reason: string | null } {
    const entry = this.entry(name);
    return { state: entry.state, reason: entry.reason };
  }

  /** Whether `ref` (a version, an alias, or none for the default) resolves to a loaded, usable version. */
  isReady(name: string, ref?: string): boolean {
    const entry = this.entry(name);
    if (entry.state !== 'READY') return false;
    return entry.loaded.has(this.resolve(entry, ref));
  }

  /**
   * Runs `fn` with the version `ref` names (a version number, an alias, or undefined for the
   * default), loading it first if it is not loaded; the version stays loaded until `fn` ends.
   */
  async use<T>(name: string, ref: string | undefined, fn: (version: LoadedVersion) => Promise<T>): Promise<T> {
    const entry = this.entry(name);
    this.checkServing(entry);
    const number = this.resolve(entry, ref);
    const loaded = entry.loaded.get(number) ?? await this.loadVersion(entry, number).catch((e: unknown) => {
      // A version whose files are broken is the server's problem, not the caller's request.
      throw e instanceof UnavailableError ? e : new UnavailableError(`version ${number} cannot be loaded (${(e as Error).message})`, { field: 'version', value: number, retryAfterSeconds: 5 });
    });
    this.checkServing(entry);
    if (loaded.retired) throw new NotFoundError('the version is being removed', { field: 'version', value: number, expected: `one of ${entry.versions.join(', ')}` });
    loaded.inFlight++;
    try {
      return await fn(loaded);
    } finally {
      loaded.release();
    }
  }

  /** Triton's repository index: one entry per version on disk (and per model without versions). */
  index(readyOnly = false): IndexEntry[] {
    this.rescan();
    const out: IndexEntry[] = [];
    for (const name of this.names()) {
      const entry = this.models.get(name)!;
      if (entry.versions.length === 0 && !readyOnly) out.push({ name, version: '', state: entry.state, reason: entry.reason ?? 'no versions' });
      for (const version of entry.versions) {
        const loaded = entry.loaded.has(version);
        const state: ModelState = entry.state === 'READY' ? (loaded ? 'READY' : 'UNAVAILABLE') : entry.state;
        if (readyOnly && state !== 'READY') continue;
        const reason = state === 'READY' ? '' : entry.state === 'READY' ? 'not loaded yet; loads on its first request' : entry.reason ?? '';
        out.push({ name, version: String(version), state, reason });
      }
    }
    return out;
  }

  summaries(): ModelSummary[] {
    this.rescan();
    return this.names().map((name) => this.summary(name));
  }

  summary(name: string): ModelSummary {
    const entry = this.entry(name);
    return {
      name,
      state: entry.state,
      reason: entry.reason,
      defaultVersion: defaultVersion(entry.versions, entry.aliases) ?? null,
      aliases: { ...entry.aliases },
      versions: entry.versions.map((version) => {
        const loaded = entry.loaded.get(version);
        let metadata: VersionMetadata | null = loaded?.metadata ?? null;
        if (!metadata) {
          try {
            const dir = this.versionDir(name, version);
            const config = JSON.parse(fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8'));
            metadata = versionMetadata(dir, config);
          } catch {
            metadata = null;
          }
        }
        return { version, loaded: loaded !== undefined, inFlight: loaded?.inFlight ?? 0, metadata };
      }),
    };
  }

  /** (Re)loads a model: rereads its versions and aliases, then loads the default and aliased versions. */
  async load(name: string): Promise<void> {
    checkModelName(name);
    if (this.closed) throw new UnavailableError('the server is shutting down', { retryAfterSeconds: 5 });
    if (!this.namesOnDisk().includes(name)) throw new NotFoundError('unknown model', { field: 'name', value: name, expected: `one of ${this.namesOnDisk().join(', ')}` });
    const entry = this.models.get(name) ?? this.addEntry(name);
    entry.wanted = true;
    // A model being served keeps serving while it reloads.
    if (entry.state !== 'READY') entry.state = 'LOADING';
    entry.reason = null;
    try {
      this.refresh(entry);
      const wanted = new Set<number>(Object.values(entry.aliases).filter((v) => entry.versions.includes(v)));
      const first = defaultVersion(entry.versions, entry.aliases);
      if (first !== undefined) wanted.add(first);
      for (const version of wanted) if (!entry.loaded.has(version)) await this.loadVersion(entry, version);
      for (const [version, loaded] of entry.loaded) if (!entry.versions.includes(version)) this.retire(entry, loaded);
      entry.state = 'READY';
    } catch (e) {
      entry.state = 'UNAVAILABLE';
      entry.reason = (e as Error).message;
      throw e;
    }
  }

  /** Unloads every version of a model once its requests are done; it answers 503 until loaded again. */
  async unload(name: string): Promise<void> {
    const entry = this.entry(name);
    entry.wanted = false;
    entry.state = 'UNLOADING';
    const versions = [...entry.loaded.values()];
    for (const loaded of versions) this.retire(entry, loaded);
    await Promise.all(versions.map((v) => v.whenUnused()));
    entry.state = 'UNAVAILABLE';
    entry.reason = UNLOADED;
  }

  /** Points `alias` at `version` (loading it first, so the switch is instant). Returns the version it named before. */
  async setAlias(name: string, alias: string, version: unknown): Promise<number | null> {
    this.checkWritable();
    const entry = this.entry(name);
    checkAliasName(alias);
    const number = checkVersion(version);
    this.refresh(entry);
    if (!entry.versions.includes(number)) throw new NotFoundError('unknown version', { field: 'version', value: number, expected: `one of ${entry.versions.join(', ') || '(none)'}` });
    if (entry.state === 'READY' && !entry.loaded.has(number)) await this.loadVersion(entry, number);
    const aliases = { ...readAliases(this.modelDir(name)), [alias]: number };
    const previous = entry.aliases[alias] ?? null;
    writeAliases(this.modelDir(name), aliases);
    entry.aliases = aliases;
    return previous;
  }

  /** Deletes a version: refused (409) while an alias names it or a request uses it. */
  deleteVersion(name: string, version: unknown): void {
    this.checkWritable();
    const entry = this.entry(name);
    const number = checkVersion(version);
    this.refresh(entry);
    if (!entry.versions.includes(number)) throw new NotFoundError('unknown version', { field: 'version', value: number, expected: `one of ${entry.versions.join(', ') || '(none)'}` });
    const naming = Object.keys(entry.aliases).filter((a) => entry.aliases[a] === number);
    if (naming.length > 0) throw new ConflictError('an alias names this version', { field: 'version', value: number, expected: `a version no alias names (move ${naming.join(', ')} first)` });
    const loaded = entry.loaded.get(number);
    if (loaded && loaded.inFlight > 0) throw new ConflictError('the version is in use', { field: 'version', value: number, expected: `a version no request is using (${loaded.inFlight} now)` });
    this.removeVersion(entry, number);
  }

  /**
   * Publishes `source` (a model directory) as the next version of `name`, optionally pointing
   * `alias` at it, then applies retention. Returns the new version and the deleted ones.
   */
  async publish(source: string, options: { name: string; alias?: string }): Promise<{ version: number; deleted: number[] }> {
    this.checkWritable();
    const name = checkModelName(options.name);
    if (options.alias !== undefined) checkAliasName(options.alias);
    const modelDir = this.modelDir(name);
    const version = copyInAsNextVersion(modelDir, source);
    const entry = this.models.get(name) ?? this.addEntry(name);
    if (options.alias !== undefined) {
      this.refresh(entry);
      await this.setAlias(name, options.alias, version);
    }
    this.refresh(entry);
    const inUse = new Set([...entry.loaded.values()].filter((v) => v.inFlight > 0).map((v) => v.version));
    const deleted = retentionVictims(entry.versions, entry.aliases, this.keepVersions, inUse);
    for (const v of deleted) this.removeVersion(entry, v);
    // A model being served serves its new default at once; a new model in a running server starts serving.
    if (entry.state === 'READY') {
      const first = defaultVersion(entry.versions, entry.aliases);
      if (first !== undefined && !entry.loaded.has(first)) await this.loadVersion(entry, first);
    } else if (this.started && !this.closed && entry.reason !== UNLOADED) {
      await this.load(name);
    }
    return { version, deleted };
  }

  /** Stops taking requests and frees every model once its requests are done. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.names().map((name) => this.unload(name)));
  }

  /** The directory of a version (for plugins that read its files). */
  versionDir(name: string, version: number): string {
    if (this.fixed) return this.fixed[name];
    return path.join(this.modelDir(name), String(version));
  }

  private modelDir(name: string): string {
    if (this.root === null) throw new ConflictError('the shipped models are read-only', { field: 'repository', expected: 'a server started with --repository DIR' });
    return path.join(this.root, checkModelName(name));
  }

  private namesOnDisk(): string[] {
    return this.fixed ? Object.keys(this.fixed).sort() : listModelNames(this.root!);
  }

  private versionsOnDisk(name: string): number[] {
    return this.fixed ? [1] : listVersions(this.modelDir(name));
  }

  private addEntry(name: string): ModelEntry {
    const entry: ModelEntry = { name, wanted: false, state: 'UNAVAILABLE', reason: 'not loaded', versions: [], aliases: {}, loaded: new Map(), loading: new Map() };
    this.models.set(name, entry);
    return entry;
  }

  /** Picks up models published since the last look, so the index and GET /v1/models list them. */
  private rescan(): void {
    if (this.closed) return;
    for (const name of this.namesOnDisk()) {
      const entry = this.models.get(name) ?? this.addEntry(name);
      if (entry.state !== 'READY') {
        try {
          this.refresh(entry);
        } catch {
          // A model whose files cannot be read keeps its last known versions; load says why.
        }
      }
    }
  }

  private refresh(entry: ModelEntry): void {
    entry.versions = this.versionsOnDisk(entry.name);
    entry.aliases = this.fixed ? {} : readAliases(this.modelDir(entry.name));
  }

  private entry(name: string): ModelEntry {
    checkModelName(name);
    const entry = this.models.get(name);
    if (!entry) throw new NotFoundError('unknown model', { field: 'name', value: name, expected: `one of ${this.names().join(', ') || '(none)'}` });
    return entry;
  }

  private checkServing(entry: ModelEntry): void {
    if (this.closed) throw new UnavailableError('the server is shutting down', { retryAfterSeconds: 5 });
    if (entry.state !== 'READY') {
      throw new UnavailableError(`model ${entry.name} is not ready (${entry.state.toLowerCase()}${entry.reason ? `: ${entry.reason}` : ''})`, {
        field: 'name', value: entry.name, expected: `a loaded model (POST /v2/repository/models/${entry.name}/load)`, retryAfterSeconds: 5,
      });
    }
  }

  private checkWritable(): void {
    if (this.readOnly) throw new ConflictError('the shipped models are read-only', { field: 'repository', expected: 'a server started with --repository DIR' });
  }

  private resolve(entry: ModelEntry, ref: string | undefined): number {
    const known = `${entry.versions.join(', ') || '(none)'}${Object.keys(entry.aliases).length ? ` or an alias (${Object.keys(entry.aliases).join(', ')})` : ''}`;
    if (ref === undefined || ref === '') {
      const version = defaultVersion(entry.versions, entry.aliases);
      if (version === undefined) throw new NotFoundError('the model has no versions', { field: 'name', value: entry.name });
      return version;
    }
    if (isVersionName(ref)) {
      const version = Number(ref);
      if (!entry.versions.includes(version)) throw new NotFoundError('unknown version', { field: 'version', value: ref, expected: known });
      return version;
    }
    const version = entry.aliases[ref];
    if (version === undefined || !entry.versions.includes(version)) {
      throw new NotFoundError(version === undefined ? 'unknown version or alias' : 'the alias names a version that no longer exists', { field: 'version', value: ref, expected: known });
    }
    return version;
  }

  private loadVersion(entry: ModelEntry, version: number): Promise<LoadedVersion> {
    const pending = entry.loading.get(version);
    if (pending) return pending;
    const started = performance.now();
    const loading = (async () => {
      const dir = this.versionDir(entry.name, version);
      const model = await loadModel(dir, this.loadOptions);
      const loaded = new LoadedVersion(entry.name, version, dir, model, this.batch, this.relay);
      if (this.closed) {
        model.dispose();
        throw new UnavailableError('the server is shutting down', { retryAfterSeconds: 5 });
      }
      entry.loaded.set(version, loaded);
      this.relay.loaded!(entry.name, version, (performance.now() - started) / 1000);
      return loaded;
    })();
    entry.loading.set(version, loading);
    const forget = () => entry.loading.delete(version);
    loading.then(forget, forget);
    return loading.catch((e: unknown) => {
      throw e instanceof TrmError ? e : new UnavailableError(`cannot load version ${version} (${(e as Error).message})`, { field: 'version', value: version });
    });
  }

  /** No new request gets the version; it is freed when its last request ends. */
  private retire(entry: ModelEntry, loaded: LoadedVersion): void {
    entry.loaded.delete(loaded.version);
    loaded.retired = true;
    if (loaded.inFlight === 0) loaded.model.dispose();
  }

  private removeVersion(entry: ModelEntry, version: number): void {
    const loaded = entry.loaded.get(version);
    if (loaded) this.retire(entry, loaded);
    removeVersionFiles(this.modelDir(entry.name), version);
    entry.versions = entry.versions.filter((v) => v !== version);
  }
}

/** The reason of a model unloaded on request (it does not count against readiness). */
const UNLOADED = 'unloaded';

export { CURRENT_ALIAS };
