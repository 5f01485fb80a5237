/**
 * The tensors a TRM config implies, and a loader that checks a safetensors file against
 * them. Names are the official state_dict names (`TinyRecursiveReasoningModel_ACTV1`,
 * without the checkpoint prefix). Everything is checked (names, dtypes, shapes, finiteness)
 * before a backend packs a single weight, so a wrong file fails here with the tensor named
 * rather than as garbage logits later. The native backends load by the core's own table
 * (native/core/tensor_table.h); test/native/tensor-table.test.ts holds this list to it.
 */
import { ModelFormatError } from '../errors';
import { TrmConfig, modelDimensions } from './config';
import { QUANTIZATION_KEY, QUANTIZATION_SCHEME, SCALE_SUFFIX, declaredQuantization, dequantizeRows, isQuantizedLinear } from './quantize';
import { SafetensorsFile, type SafetensorsDType } from './safetensors';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Where each axis comes from, in config terms, for error messages. */
  derivedFrom?: string[];
}

/**
 * Named tensors whose headers can be checked before any data is read: a safetensors file,
 * or a PyTorch state_dict (lib/model/pytorch). `toFloat32` is called only after every
 * header passed.
 */
export interface TensorSource {
  /** Labels errors. */
  readonly file: string;
  names(): string[];
  /** `dtype` in safetensors spelling (F32, BF16, F16, F64, I64, ...). */
  info(name: string): { dtype: string; shape: number[] };
  toFloat32(name: string): Float32Array;
  /** The file's string metadata (safetensors `__metadata__`), where the quantization tag lives. */
  readonly metadata?: Record<string, string>;
  /** I8 tensors as integers, for the quantized Linears (`trm quantize`); sources without I8 omit it. */
  toInt32?(name: string): Int32Array;
}

/** Canonical state_dict name -> row-major float32 data. */
export type WeightMap = Record<string, Float32Array>;

/**
 * Prefixes official checkpoints put before `inner.`: `model.` from the loss-head wrapper
 * (`ACTLossHead.model`), `_orig_mod.` from torch.compile, both together in the released
 * checkpoints. `''` is a bare model state_dict.
 */
export const CHECKPOINT_PREFIXES: readonly string[] = ['', 'model.', '_orig_mod.model.', '_orig_mod.'];

/** Floating dtypes we convert to float32; F64 rounds to nearest, the halves are exact. */
const FLOAT_DTYPES = new Set(['F32', 'BF16', 'F16', 'F64']);

export function expectedTensors(config: TrmConfig): TensorSpec[] {
  const D = config.hidden_size;
  const V = config.vocab_size;
  const { totalLen: T, mlpInter: I, mlpTInter: It } = modelDimensions(config);
  const hid = `hidden_size=${D}`;
  const voc = `vocab_size=${V}`;
  const tot = `seq_len + puzzle prefix=${T}`;
  const inter = `SwiGLU width of hidden_size, expansion=${I}`;
  const interT = `SwiGLU width of (seq_len + puzzle prefix), expansion=${It}`;
  const specs: TensorSpec[] = [
    { name: 'inner.embed_tokens.embedding_weight', shape: [V, D], derivedFrom: [voc, hid] },
    { name: 'inner.lm_head.weight', shape: [V, D], derivedFrom: [voc, hid] },
    { name: 'inner.q_head.weight', shape: [2, D], derivedFrom: ['2 (halt, continue)', hid] },
    { name: 'inner.q_head.bias', shape: [2], derivedFrom: ['2 (halt, continue)'] },
    { name: 'inner.H_init', shape: [D], derivedFrom: [hid] },
    { name: 'inner.L_init', shape: [D], derivedFrom: [hid] },
  ];
  if (config.puzzle_emb_ndim > 0) {
    specs.push({
      name: 'inner.puzzle_emb.weights',
      shape: [config.num_puzzle_identifiers, config.puzzle_emb_ndim],
      derivedFrom: [`num_puzzle_identifiers=${config.num_puzzle_identifiers}`, `puzzle_emb_ndim=${config.puzzle_emb_ndim}`],
    });
  }
  if (config.pos_encodings === 'learned') {
    specs.push({ name: 'inner.embed_pos.embedding_weight', shape: [T, D], derivedFrom: [tot, hid] });
  }
  for (let i = 0; i < config.L_layers; i++) {
    const p = `inner.L_level.layers.${i}`;
    if (config.mlp_t) {
      specs.push(
        { name: `${p}.mlp_t.gate_up_proj.weight`, shape: [2 * It, T], derivedFrom: [`2 * ${interT}`, tot] },
        { name: `${p}.mlp_t.down_proj.weight`, shape: [T, It], derivedFrom: [tot, interT] },
      );
    } else {
      // num_key_value_heads == num_heads in TRM, so q, k and v are each hidden_size wide.
      specs.push(
        { name: `${p}.self_attn.qkv_proj.weight`, shape: [3 * D, D], derivedFrom: [`3 * ${hid}`, hid] },
        { name: `${p}.self_attn.o_proj.weight`, shape: [D, D], derivedFrom: [hid, hid] },
      );
    }
    specs.push(
      { name: `${p}.mlp.gate_up_proj.weight`, shape: [2 * I, D], derivedFrom: [`2 * ${inter}`, hid] },
      { name: `${p}.mlp.down_proj.weight`, shape: [D, I], derivedFrom: [hid, inter] },
    );
  }
  return specs;
}

/** The checkpoint prefix a name carries: the one followed directly by `inner.`, or null. */
/** The Linear weights the int8 scheme quantizes (lib/model/quantize.ts), in the config's tensor order. */
export function quantizedLinears(config: TrmConfig): TensorSpec[] {
  return expectedTensors(config).filter((s) => isQuantizedLinear(s.name));
}

/** How a weights file stores the model: its precision, and the quantization scheme when quantized. */
export interface WeightStorage {
  /** 'int8' for a quantized file; otherwise the float dtype every tensor shares, or 'mixed'. */
  precision: 'int8' | 'fp32' | 'bf16' | 'fp16' | 'fp64' | 'mixed';
  quantization: typeof QUANTIZATION_SCHEME | null;
}

const FLOAT_PRECISION: Partial<Record<SafetensorsDType, WeightStorage['precision']>> = { F32: 'fp32', BF16: 'bf16', F16: 'fp16', F64: 'fp64' };

/** The storage of a file `loadWeights` accepted (it checks the tag and the dtypes; this only names them). */
export function weightStorage(file: TensorSource): WeightStorage {
  const quantization = declaredQuantization(file.metadata ?? {}, file.file);
  if (quantization !== null) return { precision: 'int8', quantization };
  const kinds = new Set(file.names().map((n) => FLOAT_PRECISION[file.info(n).dtype as SafetensorsDType] ?? 'mixed'));
  return { precision: kinds.size === 1 ? [...kinds][0] : 'mixed', quantization: null };
}

function prefixOf(name: string): string | null {
  for (const p of CHECKPOINT_PREFIXES) {
    if (name.startsWith(p + 'inner.')) return p;
  }
  return null;
}

/**
 * The one prefix every model tensor name shares. Names that carry no known prefix are not
 * decided here: they come back as unknown tensors from `loadWeights`. Two different
 * prefixes in one file mean two state_dicts were merged, which we refuse to guess about.
 */
export function detectCheckpointPrefix(names: readonly string[], file?: string): string {
  const seen = new Map<string, string>();
  for (const name of names) {
    const p = prefixOf(name);
    if (p !== null && !seen.has(p)) seen.set(p, name);
  }
  if (seen.size > 1) {
    const examples = [...seen.entries()].map(([p, n]) => `${JSON.stringify(p)} (e.g. ${n})`);
    throw new ModelFormatError(`tensor names mix checkpoint prefixes: ${examples.join(', ')}`, {
      file, field: 'tensor names', value: [...seen.keys()],
      expected: `one prefix for every tensor, one of ${CHECKPOINT_PREFIXES.map((p) => JSON.stringify(p)).join(', ')}`,
    });
  }
  return seen.size === 1 ? [...seen.keys()][0] : '';
}

function listNames(names: string[], max = 12): string {
  return names.slice(0, max).join(', ') + (names.length > max ? `, ... (${names.length} in all)` : '');
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}

/**
 * The rules of a quantized file, checked on the headers before anything is converted: I8
 * only for the quantized Linears, only under the metadata tag, every quantized Linear I8 once
 * the tag is there, and each with an F32 [out] scale of positive finite values.
 */
function checkQuantized(file: TensorSource, spec: TensorSpec, name: string, quantization: string | null, scaleName: string | undefined): void {
  const label = file.file;
  const info = file.info(name);
  const tag = `__metadata__.${QUANTIZATION_KEY}`;
  if (!isQuantizedLinear(spec.name)) {
    if (info.dtype === 'I8') {
      throw new ModelFormatError('I8 tensor that is not a quantized Linear weight (embeddings, norms, q_head and H_init / L_init stay float)', {
        file: label, field: name, value: info.dtype, expected: 'F32, BF16, F16 or F64',
      });
    }
    return;
  }
  if (quantization === null) {
    throw new ModelFormatError(`I8 weight in a file whose metadata does not declare the quantization`, {
      file: label, field: tag, value: undefined, expected: `"${QUANTIZATION_SCHEME}" when the file holds I8 weights (write it with \`trm quantize\`)`,
    });
  }
  if (info.dtype !== 'I8') {
    throw new ModelFormatError(`the metadata declares ${QUANTIZATION_SCHEME}, but a Linear weight is not I8`, {
      file: label, field: name, value: info.dtype, expected: `I8 with ${name}${SCALE_SUFFIX} beside it (every quantized Linear, as \`trm quantize\` writes them), or no ${tag} tag`,
    });
  }
  const rows = spec.shape[0];
  if (scaleName === undefined) {
    throw new ModelFormatError('quantized weight has no scale tensor', {
      file: label, field: `${name}${SCALE_SUFFIX}`, value: undefined, expected: `an F32 [${rows}] tensor of per-output-channel scales`,
    });
  }
  const scale = file.info(scaleName);
  if (scale.dtype !== 'F32' || scale.shape.length !== 1 || scale.shape[0] !== rows) {
    throw new ModelFormatError('quantized weight scale has the wrong dtype or shape', {
      file: label, field: scaleName, value: `${scale.dtype}${JSON.stringify(scale.shape)}`, expected: `F32[${rows}] (one scale per output channel of ${name})`,
    });
  }
  const values = file.toFloat32(scaleName);
  const bad = values.findIndex((v) => !(Number.isFinite(v) && v > 0));
  if (bad >= 0) {
    throw new ModelFormatError(`quantized weight scale is not positive and finite at index ${bad}`, {
      file: label, field: scaleName, value: values[bad], expected: 'finite scales > 0 (maxabs / 127, or 1 for an all-zero row)',
    });
  }
}

/**
 * Checks a safetensors file against the config and returns its weights as float32 under
 * canonical names. The official rotary cos/sin caches are non-persistent buffers, so a
 * checkpoint never holds them and any such tensor is reported as unknown. A quantized file
 * (`trm quantize`) comes back dequantized, q * scale in float32.
 */
export function loadWeights(file: TensorSource, config: TrmConfig): WeightMap {
  const label = file.file;
  const fileNames = file.names();
  const prefix = detectCheckpointPrefix(fileNames, label);
  const specs = expectedTensors(config);
  const wanted = new Map(specs.map((s) => [s.name, s]));

  const quantization = declaredQuantization(file.metadata ?? {}, label);
  const present = new Map<string, string>(); // canonical -> name in the file
  const scales = new Map<string, string>(); // canonical weight name -> its scale's name in the file
  const unknown: string[] = [];
  for (const name of fileNames) {
    const canonical = name.startsWith(prefix) ? name.slice(prefix.length) : null;
    const scaleOf = canonical?.endsWith(SCALE_SUFFIX) ? canonical.slice(0, -SCALE_SUFFIX.length) : null;
    if (canonical !== null && wanted.has(canonical)) present.set(canonical, name);
    else if (quantization !== null && scaleOf !== null && wanted.has(scaleOf) && isQuantizedLinear(scaleOf)) scales.set(scaleOf, name);
    else unknown.push(name);
  }
  const missing = specs.filter((s) => !present.has(s.name)).map((s) => prefix + s.name);
  if (missing.length > 0) {
    // Missing and unknown together nearly always mean the config does not match the
    // checkpoint (mlp_t, pos_encodings, L_layers), so say both at once.
    const also = unknown.length > 0 ? `; the file also has tensors the config does not use: ${listNames(unknown)}` : '';
    throw new ModelFormatError(`${missing.length} tensor(s) missing from the weights: ${listNames(missing)}${also}`, {
      file: label, field: missing[0], value: missing,
      expected: 'every tensor the config implies (check mlp_t, pos_encodings, L_layers, puzzle_emb_ndim)',
    });
  }
  // An untagged file with I8 weights would report its scales as unknown; the missing tag is the real fault.
  const untaggedInt8 = quantization === null ? [...present.values()].find((n) => file.info(n).dtype === 'I8') : undefined;
  if (untaggedInt8 !== undefined) checkQuantized(file, specs.find((s) => present.get(s.name) === untaggedInt8)!, untaggedInt8, null, undefined);
  if (unknown.length > 0) {
    throw new ModelFormatError(`${unknown.length} unknown tensor(s) in the weights: ${listNames(unknown)}`, {
      file: label, field: unknown[0], value: unknown,
      expected: `only the tensors the config implies, under one prefix (${JSON.stringify(prefix)} detected)`,
    });
  }

  // Check every header before converting anything, so a bad last tensor costs no work.
  for (const spec of specs) {
    const name = present.get(spec.name)!;
    const info = file.info(name);
    if (info.dtype === 'I8' || quantization !== null) checkQuantized(file, spec, name, quantization, scales.get(spec.name));
    if (info.dtype !== 'I8' && !FLOAT_DTYPES.has(info.dtype)) {
      throw new ModelFormatError('weight tensor is not floating point', {
        file: label, field: name, value: info.dtype, expected: 'F32, BF16, F16 or F64',
      });
    }
    const same = info.shape.length === spec.shape.length && info.shape.every((d, i) => d === spec.shape[i]);
    if (!same) {
      throw new ModelFormatError('weight tensor has the wrong shape for the config', {
        file: label, field: name, value: info.shape,
        expected: `${JSON.stringify(spec.shape)} from [${(spec.derivedFrom ?? []).join('; ')}]`,
      });
    }
  }

  const weights: WeightMap = {};
  for (const spec of specs) {
    const name = present.get(spec.name)!;
    const scaleName = scales.get(spec.name);
    const data = file.info(name).dtype === 'I8' && scaleName !== undefined && file.toInt32 !== undefined
      ? dequantizeRows(file.toInt32(name), file.toFloat32(scaleName), spec.shape[0], spec.shape[1])
      : file.toFloat32(name);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        // F64 values beyond the float32 range land here too, as Infinity after conversion.
        throw new ModelFormatError(`weight tensor has a non-finite value at flat index ${i} ${JSON.stringify(unravel(i, spec.shape))}`, {
          file: label, field: name, value: data[i], expected: 'finite values only (no NaN or Inf)',
        });
      }
    }
    weights[spec.name] = data;
  }
  return weights;
}
