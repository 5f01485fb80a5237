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
import { WeightMap, expectedTensors } from './weights';

/** splitmix32: spreads a 32-bit seed over the xoshiro state (which must not be all zero). */
function splitmix32(state: number): () => number {
  let a = state | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** FNV-1a over UTF-16 code units, with a chosen offset basis so two calls give two hashes. */
function fnv1a(text: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * xoshiro128** (Blackman and Vigna): 128-bit state, 32-bit outputs, fast in JS because it
 * needs only 32-bit integer operations.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box-Muller makes normals in pairs; the second waits here. */
  private spare: number | null = null;

  /**
   * One independent stream per (seed, stream name). Keying each tensor by its name keeps its
   * values the same when the config adds or drops other tensors.
   */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) throw new OptionError('seed must be an integer', { field: 'seed', value: seed, expected: 'a safe integer' });
    const key = `${seed}\u0000${stream}`;
    const a = splitmix32(fnv1a(key, 0x811c9dc5));
    const b = splitmix32(fnv1a(key, 0x050c5d1f));
    this.s0 = a(); this.s1 = a(); this.s2 = b(); this.s3 = b();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits, so log(1 - u) below never sees 0. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal by Box-Muller. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * The official `trunc_normal_init_` distribution: a standard normal truncated to [-2, 2],
   * scaled by the compensated std so that the result's std is exactly `std`. The official
   * code draws it by inverse CDF (erfinv of a uniform); we draw it by rejection, which gives
   * exactly the same distribution and needs no erfinv (about 4.6% of draws are rejected).
   */
  truncNormal(std: number): number {
    if (std === 0) return 0;
    let z: number;
    do {
      z = this.normal();
    } while (z < TRUNC_LOWER || z > TRUNC_UPPER);
    return z * TRUNC_STD_FACTOR * std;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const TRUNC_LOWER = -2;
const TRUNC_UPPER = 2;
/** P(-2 <= Z <= 2) for a standard normal, = erf(sqrt 2) (the official `z`). */
const TRUNC_MASS = 0.9544997361036416;
/**
 * 1 / std of the standard normal truncated to [-2, 2] (the official `comp_std / std`),
 * about 1.13685: Var = 1 - (u*pdf(u) - l*pdf(l)) / Z - ((pdf(u) - pdf(l)) / Z)^2.
 */
export const TRUNC_STD_FACTOR = (() => {
  const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  const variance = 1 - (TRUNC_UPPER * pdf(TRUNC_UPPER) - TRUNC_LOWER * pdf(TRUNC_LOWER)) / TRUNC_MASS
    - ((pdf(TRUNC_UPPER) - pdf(TRUNC_LOWER)) / TRUNC_MASS) ** 2;
  return 1 / Math.sqrt(variance);
})();

/** The largest magnitude a truncated-normal init of this std can take (the official clip). */
export function truncNormalBound(std: number): number {
  return TRUNC_UPPER * TRUNC_STD_FACTOR * std;
}

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
