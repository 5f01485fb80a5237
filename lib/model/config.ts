/**
 * The model config: the official TRM arch keys (`config/arch/trm.yaml`,
 * `TinyRecursiveReasoningModel_ACTV1Config`), checked, with the official defaults filled
 * in. Unknown keys are kept as they are (ours, such as `task` or `token_labels`, live
 * beside the official ones).
 */
import { ModelFormatError } from '../errors';

export type PosEncoding = 'rope' | 'learned' | 'none';

export interface TrmConfig {
  seq_len: number;
  vocab_size: number;
  hidden_size: number;
  num_heads: number;
  expansion: number;
  H_cycles: number;
  L_cycles: number;
  L_layers: number;
  halt_max_steps: number;
  halt_exploration_prob: number;
  pos_encodings: PosEncoding;
  mlp_t: boolean;
  puzzle_emb_ndim: number;
  /** As written in the file; 0 means "derive from puzzle_emb_ndim" (see `puzzleEmbLen`). */
  puzzle_emb_len: number;
  num_puzzle_identifiers: number;
  rms_norm_eps: number;
  rope_theta: number;
  no_ACT_continue: boolean;
  [key: string]: unknown;
}

/** Sizes the official code derives from the config. */
export interface ModelDimensions {
  /** Positions the puzzle-embedding prefix occupies (official `puzzle_emb_len`). */
  puzzleEmbLen: number;
  /** seq_len + puzzleEmbLen: the length of z_H and z_L. */
  totalLen: number;
  headDim: number;
  /** SwiGLU inner width over the hidden axis. */
  mlpInter: number;
  /** SwiGLU inner width over the token axis (mlp_t), 0 without mlp_t. */
  mlpTInter: number;
}

/** Python's round(): half to even, which the official width formula relies on. */
export function pythonRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Official `SwiGLU` width: `_find_multiple(round(expansion * hidden * 2 / 3), 256)`. */
export function swigluWidth(hidden: number, expansion: number): number {
  const raw = pythonRound(((expansion * hidden) * 2) / 3);
  return Math.ceil(raw / 256) * 256;
}

export function modelDimensions(config: TrmConfig): ModelDimensions {
  const puzzleEmbLen = config.puzzle_emb_len === 0
    ? Math.ceil(config.puzzle_emb_ndim / config.hidden_size)
    : config.puzzle_emb_len;
  const totalLen = config.seq_len + puzzleEmbLen;
  return {
    puzzleEmbLen,
    totalLen,
    headDim: config.hidden_size / config.num_heads,
    mlpInter: swigluWidth(config.hidden_size, config.expansion),
    mlpTInter: config.mlp_t ? swigluWidth(totalLen, config.expansion) : 0,
  };
}

interface KeyRule {
  kind: 'int' | 'number' | 'bool' | 'pos';
  min?: number;
  /** Official default; absent means the key is required. */
  default?: unknown;
}

const RULES: Record<string, KeyRule> = {
  seq_len: { kind: 'int', min: 1 },
  vocab_size: { kind: 'int', min: 1 },
  hidden_size: { kind: 'int', min: 1 },
  num_heads: { kind: 'int', min: 1 },
  expansion: { kind: 'number', min: Number.MIN_VALUE },
  H_cycles: { kind: 'int', min: 1 },
  L_cycles: { kind: 'int', min: 1 },
  L_layers: { kind: 'int', min: 1 },
  halt_max_steps: { kind: 'int', min: 1 },
  halt_exploration_prob: { kind: 'number', min: 0, default: 0.1 },
  pos_encodings: { kind: 'pos' },
  mlp_t: { kind: 'bool', default: false },
  puzzle_emb_ndim: { kind: 'int', min: 0, default: 0 },
  puzzle_emb_len: { kind: 'int', min: 0, default: 16 },
  num_puzzle_identifiers: { kind: 'int', min: 1 },
  rms_norm_eps: { kind: 'number', min: 0, default: 1e-5 },
  rope_theta: { kind: 'number', min: Number.MIN_VALUE, default: 10000.0 },
  no_ACT_continue: { kind: 'bool', default: true },
};

/** Every key parseConfig checks: the official arch keys this project runs, in the order the official configs list them. */
export const CONFIG_KEYS: readonly string[] = Object.keys(RULES);

/** The keys without an official default, which a config must give. */
export const REQUIRED_CONFIG_KEYS: readonly string[] = Object.keys(RULES).filter((k) => !('default' in RULES[k]));

/** Limits that keep a lying config from asking for terabytes before any weight is read. */
const MAX_DIM = 1 << 20;

function bad(file: string | undefined, key: string, value: unknown, expected: string, message = 'invalid config value'): never {
  throw new ModelFormatError(message, { file, field: key, value, expected });
}

export function parseConfig(raw: unknown, file?: string): TrmConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(file, 'config', raw, 'a JSON object', 'config is not an object');
  const src = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { ...src };
  for (const [key, rule] of Object.entries(RULES)) {
    let value = src[key];
    if (value === undefined || value === null) {
      if (!('default' in rule)) bad(file, key, value, `a value for the required key ${key}`, 'missing config key');
      value = rule.default;
    }
    switch (rule.kind) {
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < (rule.min ?? 0) || value > MAX_DIM) {
          bad(file, key, value, `an integer in [${rule.min ?? 0}, ${MAX_DIM}]`);
        }
        break;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < (rule.min ?? -Infinity)) {
          bad(file, key, value, rule.min === Number.MIN_VALUE ? 'a finite number > 0' : `a finite number >= ${rule.min}`);
        }
        break;
      case 'bool':
        if (typeof value !== 'boolean') bad(file, key, value, 'true or false');
        break;
      case 'pos':
        if (value !== 'rope' && value !== 'learned' && value !== 'none') bad(file, key, value, '"rope", "learned" or "none"');
        break;
    }
    out[key] = value;
  }
  const config = out as TrmConfig;
  if (config.hidden_size % config.num_heads !== 0) {
    bad(file, 'num_heads', config.num_heads, `a divisor of hidden_size (${config.hidden_size})`, 'inconsistent config');
  }
  const headDim = config.hidden_size / config.num_heads;
  if (config.pos_encodings === 'rope' && headDim % 2 !== 0) {
    bad(file, 'num_heads', config.num_heads, `a head size (hidden_size / num_heads = ${headDim}) that is even, as RoPE rotates pairs`, 'inconsistent config');
  }
  if (config.puzzle_emb_ndim === 0 && config.puzzle_emb_len !== 0) {
    // The official code would add a [seq_len] embedding to a [seq_len + puzzle_emb_len] carry and fail.
    bad(file, 'puzzle_emb_len', config.puzzle_emb_len, '0 when puzzle_emb_ndim is 0 (no puzzle prefix)', 'inconsistent config');
  }
  const dims = modelDimensions(config);
  if (config.puzzle_emb_ndim > dims.puzzleEmbLen * config.hidden_size) {
    bad(file, 'puzzle_emb_ndim', config.puzzle_emb_ndim,
      `at most puzzle_emb_len * hidden_size = ${dims.puzzleEmbLen * config.hidden_size}`, 'inconsistent config');
  }
  if (dims.totalLen > MAX_DIM) bad(file, 'seq_len', config.seq_len, `seq_len + puzzle prefix <= ${MAX_DIM}`);
  return config;
}
