/**
 * The architecture of an official checkpoint, pieced together the way `pretrain.py` did:
 * the `arch` section of the run's `all_config.yaml`, then any config file the user names
 * (the official model config, or the dataset's `dataset.json`) over it, then the three
 * keys `pretrain.py` took from the dataset's metadata (`seq_len`, `vocab_size`,
 * `num_puzzle_identifiers`; `puzzle_emb_ndim` too), read from the tensor shapes that hold
 * them. What none of these says is a MissingConfigError that lists each key and where it
 * can come from; a given key that the tensors contradict is a ModelFormatError.
 */
import * as fs from 'node:fs';
import { parseDocument } from 'yaml';
import { MissingConfigError, ModelFormatError } from '../../errors';
import { CONFIG_KEYS, REQUIRED_CONFIG_KEYS, TrmConfig, parseConfig } from '../config';
import { TensorSource, detectCheckpointPrefix } from '../weights';

/** One source of config keys, in the order they apply (later ones override). */
export interface ConfigLayer {
  /** Where the keys came from, for the model's note and for errors. */
  label: string;
  values: Record<string, unknown>;
}

export interface ResolvedArchitecture {
  config: TrmConfig;
  /** For each config key that was given or read: the file, or the tensor, it came from. */
  origins: Record<string, string>;
}

/** The official model class this project runs (`arch.name` in every official TRM config). */
const TRM_ARCH = 'recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1';

const FROM_ARCH = "the arch section of all_config.yaml beside the checkpoint, or the official model config given as --config";
const WHERE_FROM: Record<string, string> = {
  seq_len: "the dataset's dataset.json (data/<name>/train/dataset.json) given as --config; "
    + 'only learned positions or mlp_t put it in a tensor, so a RoPE or position-free attention model holds it nowhere else',
  vocab_size: "the rows of inner.embed_tokens.embedding_weight, or the dataset's dataset.json given as --config",
  num_puzzle_identifiers: "the rows of inner.puzzle_emb.weights (when puzzle_emb_ndim > 0), or the dataset's dataset.json given as --config",
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** YAML (and so JSON, which YAML 1.2 contains) into plain values; any error or unknown tag is refused. */
function parseYamlFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelFormatError(`cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      file, expected: 'a readable JSON or YAML file',
    });
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    throw new ModelFormatError(`config file is not plain JSON or YAML (${problem.message.split('\n')[0]})`, {
      file, expected: 'JSON or YAML of plain values (no tags, no duplicate keys)',
    });
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ModelFormatError(`config file cannot be read as plain values (${(e as Error).message})`, { file });
  }
}

/** An `arch` section: a TRM's, refusing other official models (HRM, the transformer baseline), whose tensors differ. */
function archSection(arch: unknown, file: string): Record<string, unknown> {
  if (!isObject(arch)) throw new ModelFormatError('the arch section is not a mapping', { file, field: 'arch', value: arch, expected: 'a mapping of arch keys' });
  if (arch.name !== undefined && arch.name !== TRM_ARCH) {
    throw new ModelFormatError('the checkpoint is not of the TRM model this project runs', {
      file, field: 'arch.name', value: arch.name, expected: JSON.stringify(TRM_ARCH),
    });
  }
  return arch;
}

/** The run's `all_config.yaml` (`PretrainConfig`, as `save_code_and_config` dumps it): its arch section. */
export function runConfigLayer(file: string): ConfigLayer {
  const raw = parseYamlFile(file);
  if (!isObject(raw) || !('arch' in raw)) {
    throw new ModelFormatError('all_config.yaml has no arch section', { file, field: 'arch', expected: "pretrain.py's PretrainConfig with its arch section" });
  }
  return { label: `${file} (arch)`, values: archSection(raw.arch, file) };
}

/** A user's config file: a model config or dataset.json, or a whole run config (then its arch section). */
export function configFileLayer(file: string): ConfigLayer {
  const raw = parseYamlFile(file);
  if (!isObject(raw)) throw new ModelFormatError('config file does not hold a mapping', { file, value: raw, expected: 'a JSON object or YAML mapping of config keys' });
  if (isObject(raw.arch)) return { label: `${file} (arch)`, values: archSection(raw.arch, file) };
  return { label: file, values: raw };
}

function shapeOf(tensors: TensorSource, name: string | undefined): number[] | undefined {
  return name === undefined ? undefined : tensors.info(name).shape;
}

/** Merges the layers, reads the shape-held keys, and checks the result with parseConfig. */
export function resolveArchitecture(tensors: TensorSource, layers: readonly ConfigLayer[]): ResolvedArchitecture {
  const label = tensors.file;
  const merged: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const layer of layers) {
    for (const key of CONFIG_KEYS) {
      const value = layer.values[key];
      if (value === undefined || value === null) continue;
      merged[key] = value;
      origins[key] = layer.label;
    }
  }

  const names = tensors.names();
  const prefix = detectCheckpointPrefix(names, label);
  const find = (canonical: string): string | undefined => (names.includes(prefix + canonical) ? prefix + canonical : undefined);
  const read: Array<{ key: string; value: number; from: string }> = [];
  const rows = (name: string | undefined, key: string, minus = 0): void => {
    const shape = shapeOf(tensors, name);
    if (name === undefined || shape === undefined) return;
    if (shape.length !== 2) {
      throw new ModelFormatError(`a 2-D tensor is needed to read ${key}`, { file: label, field: name, value: shape, expected: '[rows, columns]' });
    }
    read.push({ key, value: shape[0] - minus, from: `the rows of ${name}${minus ? ` minus the ${minus}-position puzzle prefix` : ''}` });
  };
  const embed = find('inner.embed_tokens.embedding_weight');
  const puzzle = find('inner.puzzle_emb.weights');
  rows(embed, 'vocab_size');
  rows(puzzle, 'num_puzzle_identifiers');
  const tableWidth = puzzle === undefined ? undefined : shapeOf(tensors, puzzle)![1];
  if (tableWidth !== undefined) read.push({ key: 'puzzle_emb_ndim', value: tableWidth, from: `the columns of ${puzzle}` });

  // seq_len hides behind the puzzle prefix, whose length follows the official formula. Without
  // a puzzle embedding there is no prefix (parseConfig insists puzzle_emb_len is then 0).
  const ndim = merged.puzzle_emb_ndim ?? tableWidth ?? 0;
  const len = merged.puzzle_emb_len ?? 16;
  const hidden = merged.hidden_size;
  let prefixLength: number | undefined;
  if (ndim === 0) prefixLength = 0;
  else if (typeof ndim === 'number' && typeof len === 'number') {
    if (len !== 0) prefixLength = len;
    else if (typeof hidden === 'number' && hidden > 0) prefixLength = Math.ceil(ndim / hidden);
  }
  if (prefixLength !== undefined) {
    const pos = find('inner.embed_pos.embedding_weight');
    rows(pos, 'seq_len', prefixLength);
    const mixer = find('inner.L_level.layers.0.mlp_t.gate_up_proj.weight');
    const mixerShape = shapeOf(tensors, mixer);
    if (mixer !== undefined && mixerShape !== undefined && pos === undefined) {
      if (mixerShape.length !== 2) throw new ModelFormatError('a 2-D tensor is needed to read seq_len', { file: label, field: mixer, value: mixerShape, expected: '[rows, columns]' });
      read.push({ key: 'seq_len', value: mixerShape[1] - prefixLength, from: `the columns of ${mixer}${prefixLength ? ` minus the ${prefixLength}-position puzzle prefix` : ''}` });
    }
  }

  for (const { key, value, from } of read) {
    if (key in merged && merged[key] !== value) {
      throw new ModelFormatError(`${key} from ${origins[key]} disagrees with the checkpoint's tensors`, {
        file: label, field: key, value: merged[key], expected: `${value}, from ${from}`,
      });
    }
    if (value < 1) throw new ModelFormatError(`${key} read from the tensors is not positive`, { file: label, field: key, value, expected: `a positive size from ${from}` });
    if (!(key in merged)) origins[key] = from;
    merged[key] = value;
  }

  // Without a puzzle embedding the model never reads an identifier, so the count is no
  // property of the weights; 1 (the blank identifier 0) is what a dataset without puzzles has.
  if (merged.num_puzzle_identifiers === undefined && puzzle === undefined && (merged.puzzle_emb_ndim ?? 0) === 0) {
    merged.num_puzzle_identifiers = 1;
    origins.num_puzzle_identifiers = 'no puzzle embedding (puzzle_emb_ndim 0): identifiers are unused, 1 accepts the blank identifier 0';
  }

  const missing = REQUIRED_CONFIG_KEYS.filter((key) => merged[key] === undefined);
  if (missing.length > 0) {
    throw new MissingConfigError(missing.map((key) => ({ key, from: WHERE_FROM[key] ?? FROM_ARCH })), { file: label });
  }
  return { config: parseConfig(merged, label), origins };
}
