/**
 * An official checkpoint (`step_<N>` from `pretrain.py`) as a config and float32 weights:
 * which file a path means, the config layers beside it, and the checks `loadWeights`
 * applies to every model. Nothing here writes; `import.ts` turns the result into a model
 * directory and `readModelDirectory` loads a checkpoint file through it directly.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError } from '../../errors';
import type { TrmConfig } from '../config';
import { WeightMap, WeightStorage, loadWeights, weightStorage } from '../weights';
import { ConfigLayer, configFileLayer, resolveArchitecture, runConfigLayer } from './arch';
import { BufferByteSource, ByteSource, FileByteSource } from './bytes';
import { readTorchStateDict } from './state-dict';

/** The run config `pretrain.py` writes beside its checkpoints. */
export const RUN_CONFIG_FILE = 'all_config.yaml';

/** Config key under which an imported model notes where it came from. */
export const IMPORTED_FROM_KEY = 'imported_from';

const STEP_FILE = /^step_(\d+)$/;

export interface CheckpointOptions {
  /** A config file (JSON or YAML), or the keys themselves, applied over all_config.yaml's arch. */
  config?: string | Record<string, unknown>;
  /** Compute the checkpoint's sha256 for the note (one extra read of the file). Default true. */
  hash?: boolean;
}

export interface ImportedFrom {
  format: 'pytorch';
  /** The checkpoint file, absolute. */
  path: string;
  /** N of `step_<N>`, null for another file name. */
  step: number | null;
  sha256?: string;
  /** Config key -> the file or tensor it was taken from. */
  read_from: Record<string, string>;
}

export interface CheckpointModel {
  config: TrmConfig;
  weights: WeightMap;
  importedFrom: ImportedFrom;
  /** How the checkpoint stores its tensors (never quantized: torch int8 tensors are refused). */
  storage: WeightStorage;
}

/** The checkpoint a path means: the file itself, or a run folder's newest `step_<N>` (by N). */
export function resolveCheckpointPath(p: string): string {
  const full = path.resolve(p);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch (e) {
    throw new ModelFormatError(`checkpoint path cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      file: full, field: 'path', value: p, expected: 'a checkpoint file or a run folder holding step_<N> files',
    });
  }
  if (!stat.isDirectory()) return full;
  const steps = fs.readdirSync(full)
    .map((name) => ({ name, match: STEP_FILE.exec(name) }))
    .filter((f) => f.match !== null && fs.statSync(path.join(full, f.name)).isFile())
    .map((f) => ({ name: f.name, step: Number(f.match![1]) }))
    .sort((a, b) => b.step - a.step);
  if (steps.length === 0) {
    throw new ModelFormatError('run folder holds no checkpoint', {
      file: full, field: 'path', value: fs.readdirSync(full).slice(0, 8), expected: 'files named step_<N>, as pretrain.py saves them',
    });
  }
  return path.join(full, steps[0].name);
}

function stepOf(file: string): number | null {
  const m = STEP_FILE.exec(path.basename(file));
  return m ? Number(m[1]) : null;
}

function sha256(source: ByteSource): string {
  const hash = crypto.createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 << 20);
  for (let at = 0; at < source.size; at += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, source.size - at));
    source.readInto(at, part);
    hash.update(part);
  }
  return hash.digest('hex');
}

/** The config layers for a checkpoint file: all_config.yaml beside it (if there), then `options.config`. */
function configLayers(file: string, options: CheckpointOptions): ConfigLayer[] {
  const layers: ConfigLayer[] = [];
  const runConfig = path.join(path.dirname(file), RUN_CONFIG_FILE);
  if (fs.existsSync(runConfig)) layers.push(runConfigLayer(runConfig));
  if (typeof options.config === 'string') layers.push(configFileLayer(path.resolve(options.config)));
  else if (options.config !== undefined) {
    if (typeof options.config !== 'object' || options.config === null || Array.isArray(options.config)) {
      throw new ModelFormatError('config option is neither a file path nor an object', { field: 'config', value: options.config, expected: 'a path or an object of config keys' });
    }
    layers.push({ label: 'options.config', values: options.config });
  }
  return layers;
}

function modelFromSource(source: ByteSource, layers: ConfigLayer[]): { config: TrmConfig; weights: WeightMap; origins: Record<string, string>; storage: WeightStorage } {
  const stateDict = readTorchStateDict(source);
  const { config, origins } = resolveArchitecture(stateDict, layers);
  return { config, weights: loadWeights(stateDict, config), origins, storage: weightStorage(stateDict) };
}

/** Reads a checkpoint file (or a run folder's newest) into a checked config and weights. */
export function readCheckpointModel(p: string, options: CheckpointOptions = {}): CheckpointModel {
  const file = resolveCheckpointPath(p);
  const layers = configLayers(file, options);
  const source = new FileByteSource(file);
  try {
    const { config, weights, origins, storage } = modelFromSource(source, layers);
    const importedFrom: ImportedFrom = { format: 'pytorch', path: file, step: stepOf(file), read_from: origins };
    if (options.hash !== false) importedFrom.sha256 = sha256(source);
    return { config: { ...config, [IMPORTED_FROM_KEY]: importedFrom }, weights, importedFrom, storage };
  } finally {
    source.close();
  }
}

/** True for a file that `readModelDirectory` should read as a checkpoint: its folder has all_config.yaml. */
export function isCheckpointBesideRunConfig(file: string): boolean {
  return fs.existsSync(path.join(path.dirname(file), RUN_CONFIG_FILE));
}

/**
 * The whole read on bytes in memory with the given config layers: the fuzz target's entry.
 * Any failure must be a TrmError; anything else is a bug in the reader.
 */
export function checkpointModelFromBytes(bytes: Uint8Array, layers: ConfigLayer[] = []): { config: TrmConfig; weights: WeightMap } {
  const { config, weights } = modelFromSource(new BufferByteSource(bytes, '<checkpoint bytes>'), layers);
  return { config, weights };
}
