/**
 * A model directory: `config.json` (the official TRM arch keys, plus any of ours) and
 * `model.safetensors` (the official state_dict, with or without a checkpoint prefix).
 * Every way the directory can be wrong surfaces as a ModelFormatError naming the file and
 * the field, never as a raw fs or JSON error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, OptionError, TrmError } from '../errors';
import { CONFIG_KEYS, TrmConfig, parseConfig } from './config';
import { TensorToWrite, readSafetensors, writeSafetensors } from './safetensors';
import { writeFileAtomic } from '../util/write-file-atomic';
import { CHECKPOINT_PREFIXES, WeightMap, WeightStorage, expectedTensors, loadWeights, weightStorage } from './weights';
import { RUN_CONFIG_FILE, isCheckpointBesideRunConfig, readCheckpointModel } from './pytorch/checkpoint';

export interface ModelDirectory {
  dir: string;
  config: TrmConfig;
  /** Float32 under canonical names; a quantized file's Linear weights dequantized (q * scale). */
  weights: WeightMap;
  /** How model.safetensors stores them: 'int8' for a `trm quantize` file. */
  storage: WeightStorage;
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Runs `fn`, turning anything that is not already one of ours into a ModelFormatError. */
function guarded<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TrmError) throw e;
    throw new ModelFormatError(`${what} (${errnoCode(e)})`, { file });
  }
}

function readConfigFile(file: string): TrmConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    const message = code === 'ENOENT' ? `${CONFIG_FILE} is missing from the model directory` : `cannot read ${CONFIG_FILE} (${code})`;
    throw new ModelFormatError(message, { file, field: CONFIG_FILE, expected: 'a readable JSON file with the TRM arch config' });
  }
  return parseConfigJson(text, file);
}

/** A config.json's text as a checked config; `file` labels errors. */
export function parseConfigJson(text: string, file: string): TrmConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${CONFIG_FILE} is not valid JSON (${(e as Error).message})`, {
      file, field: CONFIG_FILE, expected: 'a JSON object',
    });
  }
  return parseConfig(raw, file);
}

/**
 * Reads a model directory, or an official checkpoint file (`step_<N>`) whose folder holds
 * the run's all_config.yaml (then `dir` is that folder).
 */
export function readModelDirectory(dir: string): ModelDirectory {
  const root = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch (e) {
    throw new ModelFormatError(`model directory cannot be opened (${errnoCode(e)})`, {
      file: root, field: 'dir', value: dir, expected: `an existing directory holding ${CONFIG_FILE} and ${WEIGHTS_FILE}`,
    });
  }
  if (!stat.isDirectory()) {
    // An official checkpoint in its run folder says its own architecture: read it as it is.
    if (isCheckpointBesideRunConfig(root)) {
      const { config, weights, storage } = readCheckpointModel(root, { hash: false });
      return { dir: path.dirname(root), config, weights, storage };
    }
    throw new ModelFormatError('model path is not a directory', {
      file: root, field: 'dir', value: dir,
      expected: `a directory holding ${CONFIG_FILE} and ${WEIGHTS_FILE}, or a PyTorch checkpoint with ${RUN_CONFIG_FILE} beside it `
        + '(otherwise convert it with `trm import FILE --out DIR --config FILE`)',
    });
  }
  const configFile = path.join(root, CONFIG_FILE);
  const config = guarded(configFile, `cannot load ${CONFIG_FILE}`, () => readConfigFile(configFile));

  const weightsFile = path.join(root, WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    throw new ModelFormatError(`${WEIGHTS_FILE} is missing from the model directory`, {
      file: weightsFile, field: WEIGHTS_FILE, expected: 'the model weights in safetensors format',
    });
  }
  const file = guarded(weightsFile, `cannot load ${WEIGHTS_FILE}`, () => readSafetensors(weightsFile));
  const weights = guarded(weightsFile, `cannot load ${WEIGHTS_FILE}`, () => loadWeights(file, config));
  return { dir: root, config, weights, storage: weightStorage(file) };
}

/** The config as it goes to disk: official keys first, in their usual order, then ours. */
function configToJson(config: TrmConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) out[key] = config[key];
  for (const [key, value] of Object.entries(config)) {
    if (key in out || value === undefined || typeof value === 'function') continue;
    out[key] = value;
  }
  return out;
}

export interface WriteModelOptions {
  /** Storage dtype of every tensor; BF16 rounds to nearest even. Default F32. */
  dtype?: 'F32' | 'BF16';
  /** Checkpoint prefix put before every name, one of CHECKPOINT_PREFIXES. Default ''. */
  prefix?: string;
}

/**
 * Writes a directory that `readModelDirectory` will accept: the config and weights are
 * checked first, so a bad call leaves nothing half-written, and each file is replaced
 * atomically.
 */
export function writeModelDirectory(dir: string, config: TrmConfig, weights: WeightMap, options: WriteModelOptions = {}): void {
  const dtype = options.dtype ?? 'F32';
  const prefix = options.prefix ?? '';
  if (dtype !== 'F32' && dtype !== 'BF16') throw new OptionError('unsupported weight dtype', { field: 'dtype', value: dtype, expected: '"F32" or "BF16"' });
  if (!CHECKPOINT_PREFIXES.includes(prefix)) {
    throw new OptionError('unsupported checkpoint prefix', {
      field: 'prefix', value: prefix, expected: CHECKPOINT_PREFIXES.map((p) => JSON.stringify(p)).join(', '),
    });
  }
  const root = path.resolve(dir);
  const checked = parseConfig(configToJson(config), path.join(root, CONFIG_FILE));

  const specs = expectedTensors(checked);
  const tensors: Record<string, TensorToWrite> = {};
  for (const spec of specs) {
    const data = weights[spec.name];
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array) || data.length !== n) {
      throw new ModelFormatError('weight to write is missing or has the wrong size', {
        field: spec.name, value: data instanceof Float32Array ? data.length : data,
        expected: `a Float32Array of ${n} elements (shape ${JSON.stringify(spec.shape)})`,
      });
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(data[i])) {
        throw new ModelFormatError(`weight to write has a non-finite value at flat index ${i}`, {
          field: spec.name, value: data[i], expected: 'finite values only',
        });
      }
    }
    tensors[prefix + spec.name] = { dtype, shape: spec.shape, data };
  }
  const extra = Object.keys(weights).filter((k) => !specs.some((s) => s.name === k));
  if (extra.length > 0) {
    throw new ModelFormatError('weights to write include tensors the config does not use', {
      field: extra[0], value: extra, expected: 'only the tensors from expectedTensors(config)',
    });
  }

  guarded(root, 'cannot create the model directory', () => fs.mkdirSync(root, { recursive: true }));
  guarded(path.join(root, WEIGHTS_FILE), `cannot write ${WEIGHTS_FILE}`,
    () => writeSafetensors(path.join(root, WEIGHTS_FILE), tensors, { format: 'pt' }));
  guarded(path.join(root, CONFIG_FILE), `cannot write ${CONFIG_FILE}`,
    () => writeFileAtomic(path.join(root, CONFIG_FILE), JSON.stringify(configToJson(checked), null, 2) + '\n'));
}
