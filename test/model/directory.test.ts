import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFormatError, OptionError } from '../../lib/errors';
import { readModelDirectory, writeModelDirectory } from '../../lib/model/directory';
import { createRandomModel, randomConfig, randomWeights } from '../../lib/model/random';
import { TensorToWrite, bf16ToFloat32, float32ToBf16, readSafetensors, writeSafetensors } from '../../lib/model/safetensors';
import { CHECKPOINT_PREFIXES, WeightMap, detectCheckpointPrefix, expectedTensors } from '../../lib/model/weights';
import { GOLDEN_DIR } from '../helpers/paths';
import { expectThrows } from '../helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-directory-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function freshDir(): string {
  return path.join(tmp, `m${counter++}`);
}

const config = randomConfig({ puzzle_emb_ndim: 32, num_puzzle_identifiers: 3 });
const weights = randomWeights(config, { seed: 7, puzzleEmbStd: 0.5 });

/** Writes a directory by hand, so that each test can break exactly one thing. */
function writeRaw(configJson: unknown, tensors: Record<string, TensorToWrite> | null): string {
  const dir = freshDir();
  fs.mkdirSync(dir, { recursive: true });
  if (configJson !== undefined) {
    fs.writeFileSync(path.join(dir, 'config.json'), typeof configJson === 'string' ? configJson : JSON.stringify(configJson));
  }
  if (tensors) writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}

function tensorsOf(w: WeightMap, prefix = ''): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const spec of expectedTensors(config)) out[prefix + spec.name] = { dtype: 'F32', shape: spec.shape, data: w[spec.name] };
  return out;
}

function loadError(dir: string): ModelFormatError {
  return expectThrows(() => readModelDirectory(dir), ModelFormatError);
}

describe('golden model directories', () => {
  const folders = ['att-rope-puzzle', 'mlpt-sudoku-shape', 'att-learned-nopuzzle', 'att-rope-puzzle-ndim'];

  it.each(folders)('%s loads with every expected tensor', (name) => {
    const model = readModelDirectory(path.join(GOLDEN_DIR, name));
    const specs = expectedTensors(model.config);
    expect(Object.keys(model.weights).sort()).toEqual(specs.map((s) => s.name).sort());
    for (const spec of specs) {
      expect(model.weights[spec.name].length).toBe(spec.shape.reduce((a, b) => a * b, 1));
    }
    // Random weights are never all zero; an all-zero lm_head would mean a bad conversion.
    expect(model.weights['inner.lm_head.weight'].some((x) => x !== 0)).toBe(true);
    expect(model.weights['inner.H_init'].some((x) => x !== 0)).toBe(true);
  });

  it('reads the _orig_mod.model. prefix of mlpt-sudoku-shape', () => {
    const dir = path.join(GOLDEN_DIR, 'mlpt-sudoku-shape');
    const st = readSafetensors(path.join(dir, 'model.safetensors'));
    expect(detectCheckpointPrefix(st.names())).toBe('_orig_mod.model.');
    const model = readModelDirectory(dir);
    expect(model.config.mlp_t).toBe(true);
    expect(model.weights['inner.L_level.layers.1.mlp_t.down_proj.weight'])
      .toEqual(st.toFloat32('_orig_mod.model.inner.L_level.layers.1.mlp_t.down_proj.weight'));
  });

  it('converts BF16 tensors (att-rope-puzzle-ndim stores every tensor as BF16)', () => {
    const dir = path.join(GOLDEN_DIR, 'att-rope-puzzle-ndim');
    const st = readSafetensors(path.join(dir, 'model.safetensors'));
    expect(st.info('inner.lm_head.weight').dtype).toBe('BF16');
    const model = readModelDirectory(dir);
    const w = model.weights['inner.L_level.layers.0.self_attn.qkv_proj.weight'];
    // Every value is exactly a bf16 number, and the magnitudes are those of the init (std 1/8).
    for (const x of w) expect(bf16ToFloat32(float32ToBf16(x))).toBe(x);
    const rms = Math.sqrt(w.reduce((a, x) => a + x * x, 0) / w.length);
    expect(rms).toBeGreaterThan(0.08);
    expect(rms).toBeLessThan(0.17);
    expect(model.weights['inner.puzzle_emb.weights'].length).toBe(3 * 100);
  });
});

describe('writing and reading model directories', () => {
  it('loads the same weights under every checkpoint prefix', () => {
    for (const prefix of CHECKPOINT_PREFIXES) {
      const dir = freshDir();
      writeModelDirectory(dir, config, weights, { prefix });
      const names = readSafetensors(path.join(dir, 'model.safetensors')).names();
      expect(names.every((n) => n.startsWith(prefix + 'inner.'))).toBe(true);
      const model = readModelDirectory(dir);
      expect(model.weights).toEqual(weights);
      expect(model.dir).toBe(path.resolve(dir));
    }
  });

  it('writes BF16 that reads back as the bf16 rounding of the weights', () => {
    const dir = freshDir();
    const created = createRandomModel(dir, config, { seed: 3, dtype: 'BF16', prefix: 'model.' });
    const st = readSafetensors(path.join(dir, 'model.safetensors'));
    expect(st.info('model.inner.lm_head.weight').dtype).toBe('BF16');
    const model = readModelDirectory(dir);
    expect(model.weights).toEqual(created.weights);
    const f32 = randomWeights(config, { seed: 3 })['inner.lm_head.weight'];
    expect(model.weights['inner.lm_head.weight']).toEqual(f32.map((x) => bf16ToFloat32(float32ToBf16(x))));
  });

  it('keeps unknown config keys on read and write, and writes official keys first', () => {
    const dir = writeRaw({ ...config, task: 'sudoku', H_layers: 0, token_labels: ['a', 'b'] }, tensorsOf(weights));
    const model = readModelDirectory(dir);
    expect(model.config.task).toBe('sudoku');
    expect(model.config.H_layers).toBe(0);
    expect(model.config.token_labels).toEqual(['a', 'b']);
    const out = freshDir();
    writeModelDirectory(out, model.config, model.weights);
    const written = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(written.task).toBe('sudoku');
    expect(Object.keys(written)[0]).toBe('seq_len');
    expect(readModelDirectory(out).config).toEqual(model.config);
  });

  it('refuses to write what it could not read back', () => {
    expect(() => writeModelDirectory(freshDir(), config, { ...weights, 'inner.extra': new Float32Array(1) })).toThrow(/inner.extra/);
    const { ['inner.H_init']: _dropped, ...partial } = weights;
    expect(() => writeModelDirectory(freshDir(), config, partial)).toThrow(/inner.H_init/);
    const nan = { ...weights, 'inner.L_init': weights['inner.L_init'].map((x, i) => (i === 3 ? NaN : x)) };
    expect(() => writeModelDirectory(freshDir(), config, nan)).toThrow(/non-finite/);
    expect(() => writeModelDirectory(freshDir(), config, weights, { prefix: 'foo.' })).toThrow(OptionError);
  });
});

describe('bad model directories give ModelFormatError naming the field', () => {
  it('missing directory', () => {
    const e = loadError(path.join(tmp, 'does-not-exist'));
    expect(e.field).toBe('dir');
    expect(e.message).toMatch(/ENOENT/);
  });

  it('a file instead of a directory', () => {
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, 'x');
    expect(loadError(file).message).toMatch(/not a directory/);
  });

  it('missing config.json', () => {
    const e = loadError(writeRaw(undefined, tensorsOf(weights)));
    expect(e.field).toBe('config.json');
    expect(e.message).toMatch(/config.json is missing/);
  });

  it('config.json that is a directory', () => {
    const dir = writeRaw(undefined, tensorsOf(weights));
    fs.mkdirSync(path.join(dir, 'config.json'));
    expect(loadError(dir).message).toMatch(/cannot read config.json \(EISDIR\)/);
  });

  it('invalid JSON', () => {
    const e = loadError(writeRaw('{"seq_len": 8,', tensorsOf(weights)));
    expect(e.message).toMatch(/not valid JSON/);
    expect(e.file).toMatch(/config\.json$/);
  });

  it('config that is not an object', () => {
    expect(loadError(writeRaw('[1, 2]', tensorsOf(weights))).message).toMatch(/config is not an object/);
  });

  it('missing required key', () => {
    const { hidden_size: _h, ...rest } = config;
    const e = loadError(writeRaw(rest, tensorsOf(weights)));
    expect(e.field).toBe('hidden_size');
    expect(e.message).toMatch(/missing config key/);
  });

  it('hidden_size not divisible by num_heads', () => {
    const e = loadError(writeRaw({ ...config, num_heads: 3 }, tensorsOf(weights)));
    expect(e.field).toBe('num_heads');
    expect(e.expected).toMatch(/divisor of hidden_size/);
  });

  it('odd head size with rope', () => {
    // hidden 32 over 32 heads: head size 1, which RoPE cannot rotate.
    const e = loadError(writeRaw({ ...config, num_heads: 32 }, tensorsOf(weights)));
    expect(e.field).toBe('num_heads');
    expect(e.expected).toMatch(/even/);
  });

  it('bad pos_encodings', () => {
    const e = loadError(writeRaw({ ...config, pos_encodings: 'alibi' }, tensorsOf(weights)));
    expect(e.field).toBe('pos_encodings');
    expect(e.value).toBe('alibi');
  });

  it('puzzle_emb_len without puzzle_emb_ndim', () => {
    const e = loadError(writeRaw({ ...config, puzzle_emb_ndim: 0, puzzle_emb_len: 4 }, tensorsOf(weights)));
    expect(e.field).toBe('puzzle_emb_len');
  });

  it('missing model.safetensors', () => {
    const e = loadError(writeRaw(config, null));
    expect(e.field).toBe('model.safetensors');
    expect(e.message).toMatch(/missing/);
  });

  it('corrupt model.safetensors', () => {
    const dir = writeRaw(config, null);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.from([1, 0, 0, 0]));
    expect(loadError(dir).file).toMatch(/model\.safetensors$/);
  });

  it('missing tensors, all listed', () => {
    const t = tensorsOf(weights);
    delete t['inner.lm_head.weight'];
    delete t['inner.L_level.layers.0.mlp.down_proj.weight'];
    const e = loadError(writeRaw(config, t));
    expect(e.field).toBe('inner.lm_head.weight');
    expect(e.value).toEqual(['inner.lm_head.weight', 'inner.L_level.layers.0.mlp.down_proj.weight']);
    expect(e.message).toMatch(/2 tensor\(s\) missing/);
  });

  it('missing tensors under a prefix are named with the prefix', () => {
    const t = tensorsOf(weights, '_orig_mod.model.');
    delete t['_orig_mod.model.inner.q_head.bias'];
    expect(loadError(writeRaw(config, t)).field).toBe('_orig_mod.model.inner.q_head.bias');
  });

  it('extra tensor (the rotary cache is never persisted)', () => {
    const t = tensorsOf(weights);
    t['inner.rotary_emb.cos_cached'] = { dtype: 'F32', shape: [8, 16], data: new Float32Array(128) };
    const e = loadError(writeRaw(config, t));
    expect(e.field).toBe('inner.rotary_emb.cos_cached');
    expect(e.message).toMatch(/unknown tensor/);
  });

  it('a config that does not match the checkpoint reports missing and unexpected tensors together', () => {
    const e = loadError(writeRaw({ ...config, pos_encodings: 'learned' }, {
      ...tensorsOf(weights), stray: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
    }));
    expect(e.field).toBe('inner.embed_pos.embedding_weight');
    expect(e.message).toMatch(/also has tensors the config does not use: stray/);
  });

  it('mixed prefixes', () => {
    const t = tensorsOf(weights, 'model.');
    const moved = t['model.inner.H_init'];
    delete t['model.inner.H_init'];
    t['_orig_mod.model.inner.H_init'] = moved;
    const e = loadError(writeRaw(config, t));
    expect(e.field).toBe('tensor names');
    expect(e.message).toMatch(/mix checkpoint prefixes/);
    expect(e.value).toEqual(expect.arrayContaining(['model.', '_orig_mod.model.']));
  });

  it('wrong shape', () => {
    const t = tensorsOf(weights);
    t['inner.lm_head.weight'] = { ...t['inner.lm_head.weight'], shape: [32, 6] };
    const e = loadError(writeRaw(config, t));
    expect(e.field).toBe('inner.lm_head.weight');
    expect(e.value).toEqual([32, 6]);
    expect(e.expected).toMatch(/\[6,32\].*vocab_size=6.*hidden_size=32/);
  });

  it('wrong shape derived from the SwiGLU width', () => {
    const e = loadError(writeRaw({ ...config, expansion: 16 }, tensorsOf(weights)));
    expect(e.field).toBe('inner.L_level.layers.0.mlp.gate_up_proj.weight');
    expect(e.expected).toMatch(/SwiGLU width/);
  });

  it('integer dtype weight', () => {
    const t = tensorsOf(weights);
    t['inner.q_head.bias'] = { dtype: 'I32', shape: [2], data: Int32Array.from([-5, -5]) };
    const e = loadError(writeRaw(config, t));
    expect(e.field).toBe('inner.q_head.bias');
    expect(e.value).toBe('I32');
  });

  it.each([['NaN', NaN], ['Inf', Infinity], ['-Inf', -Infinity]])('%s weight', (_label, bad) => {
    const t = tensorsOf(weights);
    const data = Float32Array.from(weights['inner.lm_head.weight']);
    data[37] = bad; // row 1, column 5 of [6, 32]
    t['inner.lm_head.weight'] = { dtype: 'F32', shape: [6, 32], data };
    const e = loadError(writeRaw(config, t));
    expect(e.field).toBe('inner.lm_head.weight');
    expect(e.message).toMatch(/non-finite value at flat index 37 \[1,5\]/);
    expect(Object.is(e.value, bad)).toBe(true);
  });

  it('an F64 value beyond the float32 range is caught as non-finite', () => {
    const t = tensorsOf(weights);
    const data = Float64Array.from(weights['inner.H_init']);
    data[0] = 1e300;
    t['inner.H_init'] = { dtype: 'F64', shape: [32], data };
    expect(loadError(writeRaw(config, t)).field).toBe('inner.H_init');
  });

  it('F64 and F16 weights are accepted', () => {
    const t = tensorsOf(weights);
    t['inner.H_init'] = { dtype: 'F64', shape: [32], data: Float64Array.from(weights['inner.H_init']) };
    t['inner.q_head.bias'] = { dtype: 'F16', shape: [2], data: Uint16Array.from([0xc500, 0xc500]) };
    const model = readModelDirectory(writeRaw(config, t));
    expect(model.weights['inner.H_init']).toEqual(weights['inner.H_init']);
    expect(Array.from(model.weights['inner.q_head.bias'])).toEqual([-5, -5]);
  });
});
