/**
 * Seeded random TRM models with the official init distributions, for tests and benchmarks.
 * The same seed gives bit-identical weights on every run (the PRNG is integer arithmetic;
 * Math.log/cos/sqrt are V8's fdlibm ports, identical across platforms). The numbers are not
 * PyTorch's: what matches the official code is the distribution of every tensor.
 */
import * as path from 'node:path';
import { OptionError } from '../errors';
import { TrmConfig, parseConfig } from './config';
import { ModelDirectory, writeModelDirectory } from './directory';
import { bf16ToFloat32, float32ToBf16 } from './safetensors';
import { SeededRandom, truncNormalBound } from '../util/seeded-random';
import { WeightMap, expectedTensors } from './weights';

export interface RandomModelOptions {
  seed: number;
  /**
   * Default true: q_head weight 0 and bias -5, as the official init, so the model never
   * halts early. False (without qHeadStd): the plain CastedLinear init, weight trunc-normal
   * std 1/sqrt(hidden) and bias 0.
   */
  officialHeads?: boolean;
  /** When set, q_head weight ~ trunc-normal(qHeadStd) and bias 0, so halting varies in tests. Wins over officialHeads. */
  qHeadStd?: number;
  /** Std of the puzzle embeddings; the official init is 0 (default), tests want them nonzero. */
  puzzleEmbStd?: number;
}

function checkStd(field: string, value: number | undefined): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    throw new OptionError('invalid init std', { field, value, expected: 'a finite number >= 0' });
  }
}

export function randomWeights(config: TrmConfig, options: RandomModelOptions): WeightMap {
  checkStd('qHeadStd', options.qHeadStd);
  checkStd('puzzleEmbStd', options.puzzleEmbStd);
  new SeededRandom(options.seed); // validates the seed even for a config with no random tensor
  const D = config.hidden_size;
  const weights: WeightMap = {};
  for (const spec of expectedTensors(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let std: number;
    let fill: number | null = null;
    switch (spec.name) {
      case 'inner.embed_tokens.embedding_weight':
      case 'inner.embed_pos.embedding_weight':
        std = 1 / Math.sqrt(D); // CastedEmbedding init_std = 1 / embed_scale
        break;
      case 'inner.H_init':
      case 'inner.L_init':
        std = 1;
        break;
      case 'inner.puzzle_emb.weights':
        std = options.puzzleEmbStd ?? 0;
        break;
      case 'inner.q_head.weight':
        if (options.qHeadStd !== undefined) std = options.qHeadStd;
        else if (options.officialHeads ?? true) std = 0;
        else std = 1 / Math.sqrt(D);
        break;
      case 'inner.q_head.bias':
        std = 0;
        if (options.qHeadStd === undefined && (options.officialHeads ?? true)) fill = -5;
        break;
      default:
        // Every other tensor is a CastedLinear weight [out, in]: LeCun std 1/sqrt(in_features).
        std = 1 / Math.sqrt(spec.shape[1]);
    }
    if (fill !== null) {
      data.fill(fill);
    } else if (std > 0) {
      const rng = new SeededRandom(options.seed, spec.name);
      for (let i = 0; i < n; i++) data[i] = rng.truncNormal(std);
    }
    weights[spec.name] = data;
  }
  return weights;
}

/** Small defaults for a model that runs in milliseconds; `overrides` win, then parseConfig checks it all. */
export function randomConfig(overrides: Partial<TrmConfig> = {}): TrmConfig {
  return parseConfig({
    seq_len: 8,
    vocab_size: 6,
    hidden_size: 32,
    num_heads: 2,
    expansion: 2,
    H_cycles: 2,
    L_cycles: 2,
    L_layers: 1,
    halt_max_steps: 4,
    pos_encodings: 'rope',
    mlp_t: false,
    puzzle_emb_ndim: 0,
    puzzle_emb_len: 0,
    num_puzzle_identifiers: 1,
    ...overrides,
  }, '<randomConfig>');
}

/**
 * Writes a random model to `dir` and returns it. With dtype BF16 the returned weights are
 * rounded as the file stores them, so they equal what `readModelDirectory(dir)` gives.
 */
export function createRandomModel(
  dir: string,
  config: TrmConfig,
  options: RandomModelOptions & { dtype?: 'F32' | 'BF16'; prefix?: string },
): ModelDirectory {
  const checked = parseConfig({ ...config }, '<createRandomModel>');
  const weights = randomWeights(checked, options);
  writeModelDirectory(dir, checked, weights, { dtype: options.dtype, prefix: options.prefix });
  if (options.dtype === 'BF16') {
    for (const data of Object.values(weights)) {
      for (let i = 0; i < data.length; i++) data[i] = bf16ToFloat32(float32ToBf16(data[i]));
    }
  }
  return { dir: path.resolve(dir), config: checked, weights, storage: { precision: options.dtype === 'BF16' ? 'bf16' : 'fp32', quantization: null } };
}
