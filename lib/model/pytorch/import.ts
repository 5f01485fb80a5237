/**
 * `importCheckpoint`: an official PyTorch checkpoint turned into an ordinary model directory
 * (config.json with the official keys and an `imported_from` note; model.safetensors in
 * float32), which every backend then loads like any other.
 */
import * as path from 'node:path';
import { OptionError } from '../../errors';
import type { TrmConfig } from '../config';
import { writeModelDirectory } from '../directory';
import { CheckpointOptions, ImportedFrom, readCheckpointModel } from './checkpoint';

export interface ImportOptions {
  /** The model directory to write (created if needed; its config.json and model.safetensors are replaced atomically). */
  out: string;
  /** A config file (JSON or YAML: the official model config, a dataset.json) or the keys, over all_config.yaml's arch. */
  config?: CheckpointOptions['config'];
}

export interface ImportResult {
  dir: string;
  config: TrmConfig;
  importedFrom: ImportedFrom;
}

/** Imports `checkpoint` (a `step_<N>` file, or a run folder: then its newest) into `options.out`. */
export function importCheckpoint(checkpoint: string, options: ImportOptions): ImportResult {
  if (typeof options !== 'object' || options === null || typeof options.out !== 'string' || options.out === '') {
    throw new OptionError('importCheckpoint needs an output directory', { field: 'out', value: options?.out, expected: 'a directory path' });
  }
  const { config, weights, importedFrom } = readCheckpointModel(checkpoint, { config: options.config });
  const dir = path.resolve(options.out);
  writeModelDirectory(dir, config, weights);
  return { dir, config, importedFrom };
}
