/**
 * A model directory: `config.json` (the official TRM arch keys, plus any of ours) and
 * `model.safetensors` (the official state_dict, with or without a checkpoint prefix).
 * Every way the directory can be wrong surfaces as a ModelFormatError naming the file and
 * the field, never as a raw fs or JSON error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, OptionError, TrmError } from '../errors';
import { TrmConfig, parseConfig } from './config';
import { TensorToWrite, readSafetensors, writeFileAtomic, writeSafetensors } from './safetensors';
import { CHECKPOINT_PREFIXES, WeightMap, expectedTensors, loadWeights } from './weights';

export interface ModelDirectory {
  dir: string;
  config: TrmConfig;
  weights: WeightMap;
}

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/** The official arch keys, in the order the official configs list them. */
const OFFICIAL_KEYS = [
  'seq_len', 'vocab_size', 'hidden_size', 'num_heads', 'expansion', 'H_cycles', 'L_cycles', 'L_layers',
  'halt_max_steps', 'halt_exploration_prob', 'pos_encodings', 'mlp_t', 'puzzle_emb_ndim', 'puzzle_emb_len',
  'num_puzzle_identifiers', 'rms_norm_eps', 'rope_theta', 'no_ACT_continue',
] as const;

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
    throw new ModelFormatError('model path is not a directory', {
      file: root, field: 'dir', value: dir, expected: `a directory holding ${CONFIG_FILE} and ${WEIGHTS_FILE}`,
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
  const weights = guarded(weightsFile, `cannot load ${WEIGHTS_FILE}`, () => loadWeights(readSafetensors(weightsFile), config));
  return { dir: root, config, weights };
}

/** The config as it goes to disk: official keys first, in their usual order, then ours. */
function configToJson(config: TrmConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of OFFICIAL_KEYS) out[key] = config[key];
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
