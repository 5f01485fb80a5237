/**
 * INT8 weights: the quantizer's rule and round-trip bounds, `quantizeModelDir` (the file
 * `trm quantize` writes), reading it back (dequantized, the default precision), the size
 * target on every shipped model, and every way a quantized file can be wrong.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../lib';
import { ModelFormatError, OptionError } from '../../lib/errors';
import { readModelDirectory } from '../../lib/model/directory';
import { QUANTIZATION_KEY, QUANTIZATION_SCHEME, dequantizeRows, quantizeRows, roundHalfEven } from '../../lib/model/quantize';
import { quantizeModelDir } from '../../lib/model/quantized-directory';
import { createRandomModel, randomConfig } from '../../lib/model/random';
import { TensorToWrite, readSafetensors, writeSafetensors } from '../../lib/model/safetensors';
import { quantizedLinears } from '../../lib/model/weights';
import { REPO_ROOT } from '../helpers/paths';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-quantize-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => path.join(tmp, `d${counter++}`);

/** The target: an int8 file at most 30% of the fp32 one. */
const MAX_SIZE_RATIO = 0.3;

describe('the quantizer', () => {
  it('rounds half to even, as ONNX Round and the native kernels do', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -3.5, 126.5].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -4, 126]);
  });

  it('maps each row\'s largest |w| to +-127, keeps zero rows at scale 1, and round-trips within half a step', () => {
    const rows = 5, cols = 37;
    const w = new Float32Array(rows * cols);
    for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 1.7) * (1 + (i % 7));
    w.fill(0, 2 * cols, 3 * cols); // row 2 all zero
    w[4 * cols + 3] = -50; // row 4: a negative maximum
    const { q, scale } = quantizeRows(w, rows, cols);
    expect(scale[2]).toBe(1);
    expect(Array.from(q.subarray(2 * cols, 3 * cols)).every((v) => v === 0)).toBe(true);
    expect(q[4 * cols + 3]).toBe(-127);
    const back = dequantizeRows(q, scale, rows, cols);
    for (let r = 0; r < rows; r++) {
      let maxAbs = 0;
      for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(w[r * cols + c]));
      if (maxAbs > 0) expect(Math.max(...Array.from(q.subarray(r * cols, (r + 1) * cols), Math.abs))).toBe(127);
      for (let c = 0; c < cols; c++) {
        expect(Math.abs(q[r * cols + c])).toBeLessThanOrEqual(127);
        // Half a quantization step, plus float32 rounding of the scale and the product.
        expect(Math.abs(back[r * cols + c] - w[r * cols + c])).toBeLessThanOrEqual(0.5 * scale[r] * (1 + 1e-5) + 1e-6 * maxAbs);
      }
    }
  });

  it('gives the same int8 values again from its own dequantized weights', () => {
    const rows = 64, cols = 48;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.cos(i * 0.37) * Math.exp((i % 11) / 4));
    const first = quantizeRows(w, rows, cols);
    const again = quantizeRows(dequantizeRows(first.q, first.scale, rows, cols), rows, cols);
    expect(Array.from(again.q)).toEqual(Array.from(first.q));
    for (let r = 0; r < rows; r++) expect(Math.abs(again.scale[r] - first.scale[r])).toBeLessThanOrEqual(2 * 2 ** -23 * first.scale[r]);
  });
});

describe('quantizeModelDir', () => {
  const config = randomConfig({ puzzle_emb_ndim: 32, num_puzzle_identifiers: 3, pos_encodings: 'learned' });
  const source = createRandomModel(freshDir(), config, { seed: 11, puzzleEmbStd: 0.5, prefix: '_orig_mod.model.' });
  const out = freshDir();
  const report = quantizeModelDir(source.dir, out);
  const file = readSafetensors(path.join(out, 'model.safetensors'));
  const sourceFile = readSafetensors(path.join(source.dir, 'model.safetensors'));

  it('stores every block Linear and lm_head as I8 [out, in] with an F32 [out] scale, under the metadata tag', () => {
    const linears = quantizedLinears(config);
    expect(report.quantizedTensors).toBe(linears.length);
    expect(file.metadata[QUANTIZATION_KEY]).toBe(QUANTIZATION_SCHEME);
    for (const spec of linears) {
      const name = `_orig_mod.model.${spec.name}`;
      expect(file.info(name)).toMatchObject({ dtype: 'I8', shape: spec.shape });
      expect(file.info(`${name}_scale`)).toMatchObject({ dtype: 'F32', shape: [spec.shape[0]] });
    }
    expect(linears.map((s) => s.name)).toContain('inner.lm_head.weight');
    expect(linears.map((s) => s.name)).not.toContain('inner.q_head.weight');
  });

  it('keeps every other tensor byte for byte, and copies config.json', () => {
    for (const name of sourceFile.names()) {
      if (file.info(name).dtype === 'I8') continue;
      expect(Buffer.from(file.bytesOf(name)).equals(Buffer.from(sourceFile.bytesOf(name))), name).toBe(true);
    }
    for (const kept of ['inner.embed_tokens.embedding_weight', 'inner.puzzle_emb.weights', 'inner.embed_pos.embedding_weight', 'inner.q_head.weight', 'inner.H_init']) {
      expect(file.info(`_orig_mod.model.${kept}`).dtype).toBe('F32');
    }
    expect(fs.readFileSync(path.join(out, 'config.json'))).toEqual(fs.readFileSync(path.join(source.dir, 'config.json')));
  });

  it('reads back dequantized (q * scale, float32), and says how it is stored', () => {
    const back = readModelDirectory(out);
    expect(back.storage).toEqual({ precision: 'int8', quantization: QUANTIZATION_SCHEME });
    expect(readModelDirectory(source.dir).storage).toEqual({ precision: 'fp32', quantization: null });
    for (const spec of quantizedLinears(config)) {
      const [rows, cols] = spec.shape;
      const { q, scale } = quantizeRows(source.weights[spec.name], rows, cols);
      expect(back.weights[spec.name]).toEqual(dequantizeRows(q, scale, rows, cols));
    }
    expect(back.weights['inner.embed_tokens.embedding_weight']).toEqual(source.weights['inner.embed_tokens.embedding_weight']);
  });

  it('defaults to precision int8 when loaded without a precision, and runs fp32 when asked', async () => {
    const int8 = await loadModel(out, { backend: 'onnx', threads: 1 });
    expect(int8.info.precision).toBe('int8');
    int8.dispose();
    const fp32 = await loadModel(out, { backend: 'onnx', threads: 1, precision: 'fp32' });
    expect(fp32.info.precision).toBe('fp32');
    fp32.dispose();
    const plain = await loadModel(source.dir, { backend: 'onnx', threads: 1 });
    expect(plain.info.precision).toBe('fp32');
    plain.dispose();
  });

  it('quantizing a quantized directory gives the same int8 values', () => {
    const twice = freshDir();
    quantizeModelDir(out, twice);
    const again = readSafetensors(path.join(twice, 'model.safetensors'));
    for (const name of file.names()) {
      if (file.info(name).dtype === 'I8') expect(Buffer.from(again.bytesOf(name)).equals(Buffer.from(file.bytesOf(name))), name).toBe(true);
    }
  });

  it('refuses to overwrite its source, and writes nothing from a bad source', () => {
    expect(() => quantizeModelDir(source.dir, source.dir)).toThrow(OptionError);
    const target = freshDir();
    expect(() => quantizeModelDir(path.join(tmp, 'no-such-dir'), target)).toThrow(ModelFormatError);
    expect(fs.existsSync(target)).toBe(false);
  });
});

describe('shipped models', () => {
  const names = ['sudoku-4x4', 'maze', 'sudoku-9x9', 'compliance'];
  it.each(names)(`%s: the int8 file is at most ${100 * MAX_SIZE_RATIO}% of the fp32 one`, (name) => {
    const r = quantizeModelDir(path.join(REPO_ROOT, 'models', name), freshDir());
    const ratio = r.quantizedBytes / r.sourceBytes;
    console.log(`${name}: fp32 ${r.sourceBytes} B, int8 ${r.quantizedBytes} B (${(100 * ratio).toFixed(1)}%)`);
    expect(ratio).toBeLessThanOrEqual(MAX_SIZE_RATIO);
  });
});

describe('a bad quantized file is a ModelFormatError naming the tensor', () => {
  const config = randomConfig({ L_layers: 1 });
  const source = createRandomModel(freshDir(), config, { seed: 5 });
  const good = freshDir();
  quantizeModelDir(source.dir, good);
  const file = readSafetensors(path.join(good, 'model.safetensors'));
  const lm = 'inner.lm_head.weight';

  /** The good quantized file with `edit` applied to its tensors and metadata. */
  function variant(edit: (t: Record<string, TensorToWrite>, meta: Record<string, string>) => void): string {
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of file.names()) tensors[name] = { dtype: file.info(name).dtype, shape: file.info(name).shape, bytes: file.bytesOf(name) };
    const meta = { ...file.metadata };
    edit(tensors, meta);
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(good, 'config.json'), path.join(dir, 'config.json'));
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors, meta);
    return dir;
  }

  function loadError(dir: string): ModelFormatError {
    try {
      readModelDirectory(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(ModelFormatError);
      return e as ModelFormatError;
    }
    throw new Error(`expected ${dir} to fail to load`);
  }

  it('the unedited file loads (the edits below are what breaks each one)', () => {
    expect(readModelDirectory(variant(() => undefined)).storage.precision).toBe('int8');
  });

  it('a missing scale', () => {
    const e = loadError(variant((t) => { delete t[`${lm}_scale`]; }));
    expect(e.field).toBe(`${lm}_scale`);
    expect(e.message).toMatch(/no scale tensor/);
  });

  it('a scale of the wrong shape or dtype', () => {
    const V = config.vocab_size;
    const short = loadError(variant((t) => { t[`${lm}_scale`] = { dtype: 'F32', shape: [V - 1], data: new Float32Array(V - 1).fill(1) }; }));
    expect(short.field).toBe(`${lm}_scale`);
    expect(short.expected).toContain(`F32[${V}]`);
    const f64 = loadError(variant((t) => { t[`${lm}_scale`] = { dtype: 'F64', shape: [V], data: new Float64Array(V).fill(1) }; }));
    expect(f64.field).toBe(`${lm}_scale`);
  });

  it('a scale that is zero, negative or not finite', () => {
    const V = config.vocab_size;
    for (const bad of [0, -1, NaN, Infinity]) {
      const scale = new Float32Array(V).fill(0.01);
      scale[V - 1] = bad;
      const e = loadError(variant((t) => { t[`${lm}_scale`] = { dtype: 'F32', shape: [V], data: scale }; }));
      expect(e.field).toBe(`${lm}_scale`);
      expect(e.message).toMatch(new RegExp(`index ${V - 1}`));
    }
  });

  it('an I8 tensor that is not a quantized Linear (an embedding, q_head)', () => {
    for (const name of ['inner.embed_tokens.embedding_weight', 'inner.q_head.weight']) {
      const e = loadError(variant((t) => {
        const shape = file.info(name).shape;
        t[name] = { dtype: 'I8', shape, data: new Int8Array(shape[0] * shape[1]) };
      }));
      expect(e.field).toBe(name);
      expect(e.message).toMatch(/not a quantized Linear/);
    }
  });

  it('an inconsistent metadata tag: I8 without it, a float Linear under it, an unknown scheme', () => {
    const untagged = loadError(variant((_t, meta) => { delete meta[QUANTIZATION_KEY]; }));
    expect(untagged.field).toBe(`__metadata__.${QUANTIZATION_KEY}`);
    const floatUnderTag = loadError(variant((t) => {
      t[lm] = { dtype: 'F32', shape: file.info(lm).shape, data: source.weights[lm] };
      delete t[`${lm}_scale`];
    }));
    expect(floatUnderTag.field).toBe(lm);
    expect(floatUnderTag.message).toMatch(/not I8/);
    const other = loadError(variant((_t, meta) => { meta[QUANTIZATION_KEY] = 'int4-grouped'; }));
    expect(other.field).toBe(`__metadata__.${QUANTIZATION_KEY}`);
    expect(other.value).toBe('int4-grouped');
  });

  it('a stray scale in a file without the tag is an unknown tensor', () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(source.dir, 'config.json'), path.join(dir, 'config.json'));
    const src = readSafetensors(path.join(source.dir, 'model.safetensors'));
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of src.names()) tensors[name] = { dtype: src.info(name).dtype, shape: src.info(name).shape, bytes: src.bytesOf(name) };
    tensors[`${lm}_scale`] = { dtype: 'F32', shape: [config.vocab_size], data: new Float32Array(config.vocab_size).fill(1) };
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    const e = loadError(dir);
    expect(e.field).toBe(`${lm}_scale`);
    expect(e.message).toMatch(/unknown tensor/);
  });
});
