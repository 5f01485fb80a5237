import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFormatError, OptionError } from '../../lib/errors';
import { modelDimensions } from '../../lib/model/config';
import { readModelDirectory } from '../../lib/model/directory';
import { createRandomModel, randomConfig, randomWeights } from '../../lib/model/random';
import { SeededRandom, TRUNC_STD_FACTOR, truncNormalBound } from '../../lib/util/seeded-random';
import { expectedTensors } from '../../lib/model/weights';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-random-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function moments(a: ArrayLike<number>): { mean: number; std: number; maxAbs: number } {
  let s = 0, s2 = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    s2 += a[i] * a[i];
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), maxAbs };
}

const configs = {
  attention: randomConfig({}),
  mlpT: randomConfig({ mlp_t: true, pos_encodings: 'none', puzzle_emb_ndim: 32, puzzle_emb_len: 2, L_layers: 2 }),
  learned: randomConfig({ pos_encodings: 'learned', num_heads: 3, hidden_size: 48 }),
  puzzle: randomConfig({ puzzle_emb_ndim: 100, hidden_size: 64, num_heads: 4, num_puzzle_identifiers: 5 }),
};

describe('randomWeights', () => {
  it('is bit-identical for the same seed', () => {
    const a = randomWeights(configs.attention, { seed: 1234, qHeadStd: 0.1, puzzleEmbStd: 1 });
    const b = randomWeights(configs.attention, { seed: 1234, qHeadStd: 0.1, puzzleEmbStd: 1 });
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const name of Object.keys(a)) expect(bytesOf(a[name]).equals(bytesOf(b[name]))).toBe(true);
  });

  it('differs between seeds in every random tensor', () => {
    const a = randomWeights(configs.puzzle, { seed: 1, qHeadStd: 0.1, puzzleEmbStd: 1 });
    const b = randomWeights(configs.puzzle, { seed: 2, qHeadStd: 0.1, puzzleEmbStd: 1 });
    for (const name of Object.keys(a)) {
      if (name === 'inner.q_head.bias') continue; // zero whatever the seed
      expect(bytesOf(a[name]).equals(bytesOf(b[name])), name).toBe(false);
    }
  });

  it('keeps a tensor the same when the config adds other tensors', () => {
    const one = randomWeights(configs.attention, { seed: 9 });
    const two = randomWeights(randomConfig({ L_layers: 2 }), { seed: 9 });
    expect(two['inner.embed_tokens.embedding_weight']).toEqual(one['inner.embed_tokens.embedding_weight']);
    expect(two['inner.L_level.layers.0.mlp.down_proj.weight']).toEqual(one['inner.L_level.layers.0.mlp.down_proj.weight']);
  });

  it.each(Object.entries(configs))('matches expectedTensors for the %s config', (_label, config) => {
    const w = randomWeights(config, { seed: 5 });
    const specs = expectedTensors(config);
    expect(Object.keys(w)).toEqual(specs.map((s) => s.name));
    for (const spec of specs) {
      expect(w[spec.name]).toBeInstanceOf(Float32Array);
      expect(w[spec.name].length, spec.name).toBe(spec.shape.reduce((x, y) => x * y, 1));
      expect(w[spec.name].every(Number.isFinite)).toBe(true);
    }
  });

  it('has the tensors each config implies', () => {
    const { totalLen, mlpTInter } = modelDimensions(configs.mlpT);
    const mlpT = expectedTensors(configs.mlpT);
    expect(mlpT.find((s) => s.name === 'inner.L_level.layers.1.mlp_t.gate_up_proj.weight')?.shape).toEqual([2 * mlpTInter, totalLen]);
    expect(mlpT.some((s) => s.name.includes('self_attn'))).toBe(false);
    expect(expectedTensors(configs.learned).find((s) => s.name === 'inner.embed_pos.embedding_weight')?.shape).toEqual([8, 48]);
    expect(expectedTensors(configs.puzzle).find((s) => s.name === 'inner.puzzle_emb.weights')?.shape).toEqual([5, 100]);
    expect(expectedTensors(configs.attention).some((s) => s.name.includes('puzzle_emb') || s.name.includes('embed_pos'))).toBe(false);
  });

  it('draws a large weight with the official std 1/sqrt(in_features) and the truncated-normal shape', () => {
    // gate_up_proj of hidden 256: [1536, 256], 393k values, std 1/16.
    const config = randomConfig({ hidden_size: 256, num_heads: 4, expansion: 4 });
    const w = randomWeights(config, { seed: 77 })['inner.L_level.layers.0.mlp.gate_up_proj.weight'];
    expect(w.length).toBe(1536 * 256);
    const target = 1 / 16;
    const m = moments(w);
    // The standard error of the std here is about 0.1%; 1% is a wide but meaningful margin.
    expect(Math.abs(m.std / target - 1)).toBeLessThan(0.01);
    expect(Math.abs(m.mean)).toBeLessThan(0.005 * target);
    // A truncated normal rescaled to std 1 keeps 71.5% of its mass within one compensated
    // std (P(|z| < 1) / P(|z| < 2)); an untruncated normal of the same std would keep 74.4%.
    const inside = w.filter((x) => Math.abs(x) < TRUNC_STD_FACTOR * target).length / w.length;
    expect(Math.abs(inside - 0.6826894921370859 / 0.9544997361036416)).toBeLessThan(0.004);
  });

  it('respects the truncation bound and reaches close to it', () => {
    const w = randomWeights(randomConfig({ hidden_size: 128, num_heads: 2 }), { seed: 3 })['inner.L_level.layers.0.self_attn.qkv_proj.weight'];
    const bound = truncNormalBound(1 / Math.sqrt(128));
    const m = moments(w);
    expect(m.maxAbs).toBeLessThanOrEqual(Math.fround(bound));
    expect(m.maxAbs).toBeGreaterThan(0.98 * bound);
  });

  it('uses the official compensation factor', () => {
    expect(TRUNC_STD_FACTOR).toBeCloseTo(1.1368472343385565, 12);
  });

  it('applies the official q_head init by default and the test options when asked', () => {
    const c = configs.attention;
    const official = randomWeights(c, { seed: 1 });
    expect(official['inner.q_head.weight'].every((x) => x === 0)).toBe(true);
    expect(Array.from(official['inner.q_head.bias'])).toEqual([-5, -5]);
    expect(official['inner.H_init'].some((x) => x !== 0)).toBe(true);

    const varied = randomWeights(c, { seed: 1, qHeadStd: 0.5 });
    expect(varied['inner.q_head.weight'].some((x) => x !== 0)).toBe(true);
    expect(moments(varied['inner.q_head.weight']).maxAbs).toBeLessThanOrEqual(Math.fround(truncNormalBound(0.5)));
    expect(Array.from(varied['inner.q_head.bias'])).toEqual([0, 0]);

    const plain = randomWeights(c, { seed: 1, officialHeads: false });
    expect(moments(plain['inner.q_head.weight']).maxAbs).toBeLessThanOrEqual(Math.fround(truncNormalBound(1 / Math.sqrt(32))));
    expect(plain['inner.q_head.weight'].some((x) => x !== 0)).toBe(true);
    expect(Array.from(plain['inner.q_head.bias'])).toEqual([0, 0]);
  });

  it('zeroes puzzle embeddings by default (official) and draws them when asked', () => {
    expect(randomWeights(configs.puzzle, { seed: 1 })['inner.puzzle_emb.weights'].every((x) => x === 0)).toBe(true);
    const drawn = randomWeights(configs.puzzle, { seed: 1, puzzleEmbStd: 1 })['inner.puzzle_emb.weights'];
    expect(moments(drawn).std).toBeGreaterThan(0.7);
    expect(moments(drawn).std).toBeLessThan(1.3);
  });

  it('rejects bad seeds and stds', () => {
    expect(() => randomWeights(configs.attention, { seed: 1.5 })).toThrow(OptionError);
    expect(() => randomWeights(configs.attention, { seed: NaN })).toThrow(OptionError);
    expect(() => randomWeights(configs.attention, { seed: 1, qHeadStd: -1 })).toThrow(OptionError);
    expect(() => randomWeights(configs.attention, { seed: 1, puzzleEmbStd: Infinity })).toThrow(OptionError);
  });
});

describe('SeededRandom', () => {
  it('gives standard normals', () => {
    const rng = new SeededRandom(42);
    const xs = new Float64Array(200_000);
    for (let i = 0; i < xs.length; i++) xs[i] = rng.normal();
    const m = moments(xs);
    expect(Math.abs(m.mean)).toBeLessThan(0.01);
    expect(Math.abs(m.std - 1)).toBeLessThan(0.01);
    // About 4.55% of a standard normal lies beyond 2.
    const tail = xs.filter((x) => Math.abs(x) > 2).length / xs.length;
    expect(Math.abs(tail - 0.0455)).toBeLessThan(0.002);
  });

  it('gives uniforms in [0, 1) and separate streams per name', () => {
    const rng = new SeededRandom(0);
    for (let i = 0; i < 10_000; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
    }
    expect(new SeededRandom(0, 'a').nextU32()).not.toBe(new SeededRandom(0, 'b').nextU32());
    expect(new SeededRandom(-3, 'a').nextU32()).toBe(new SeededRandom(-3, 'a').nextU32());
  });
});

describe('randomConfig and createRandomModel', () => {
  it('fills small defaults and lets overrides win', () => {
    const c = randomConfig({ hidden_size: 64, task: 'test' });
    expect(c).toMatchObject({ seq_len: 8, vocab_size: 6, hidden_size: 64, num_heads: 2, pos_encodings: 'rope', task: 'test' });
    expect(c.rms_norm_eps).toBe(1e-5); // official default filled by parseConfig
    expect(() => randomConfig({ num_heads: 5 })).toThrow(ModelFormatError);
  });

  it('writes a model that reads back identically', () => {
    const dir = path.join(tmp, 'created');
    const created = createRandomModel(dir, configs.puzzle, { seed: 11, qHeadStd: 0.2, puzzleEmbStd: 0.5, prefix: '_orig_mod.model.' });
    const read = readModelDirectory(dir);
    expect(read.config).toEqual(created.config);
    expect(read.weights).toEqual(created.weights);
    expect(created.weights).toEqual(randomWeights(configs.puzzle, { seed: 11, qHeadStd: 0.2, puzzleEmbStd: 0.5 }));
  });
});
