/**
 * How a step is spread over threads must not change a single bit of any sample's result.
 * Batches of at least as many samples as threads run by sample groups (one thread per group,
 * no barriers); smaller or uneven ones split every layer by rows and (sample, head), or (with
 * under 8 rows a thread, as batch 1 here; fp32, bf16-on-fp32 and x86 int8 weights) split each
 * GEMM by output features
 * at panel boundaries, the last panel partial here (hidden 48 and 40 against 32-wide panels),
 * each thread carrying its gate/up features through the SiLU and, where head_dim is a
 * multiple of the panel width, its heads through qkv, RoPE and attention. Each
 * output element is accumulated in the same k order whichever rows share its GEMM call, so
 * every sample of every batch, thread count and precision must equal the same sample run
 * alone on one thread, bit for bit. These layers are small enough that batches under the
 * thread count run on one thread by default (core/forward.h: kSplitMinRegionFlops), so each
 * case runs twice: with that rule, and with TRM_SPLIT_MIN_REGION_FLOPS=0 (always split).
 */
import { describe, expect, it } from 'vitest';
import { createModel, randomConfig, randomWeights, supportedIsas } from '../../lib';

/** A model loaded with TRM_SPLIT_MIN_REGION_FLOPS set to `bound` (unset: the default rule). */
function withSplitBound(bound: string | undefined, make: () => ReturnType<typeof createModel>) {
  const before = process.env.TRM_SPLIT_MIN_REGION_FLOPS;
  if (bound === undefined) delete process.env.TRM_SPLIT_MIN_REGION_FLOPS;
  else process.env.TRM_SPLIT_MIN_REGION_FLOPS = bound;
  try {
    return make();
  } finally {
    if (before === undefined) delete process.env.TRM_SPLIT_MIN_REGION_FLOPS;
    else process.env.TRM_SPLIT_MIN_REGION_FLOPS = before;
  }
}

const CONFIGS = {
  'attention + RoPE, puzzle prefix': randomConfig({ seq_len: 13, hidden_size: 48, num_heads: 3, L_layers: 2, puzzle_emb_ndim: 48, puzzle_emb_len: 2, num_puzzle_identifiers: 3 }),
  // head_dim 32: the column split gives each thread whole heads (qkv, RoPE, attention);
  // head_dim 16 above does not start a head at a 32-wide panel, so it splits qkv by panels.
  'attention + RoPE, head_dim 32': randomConfig({ seq_len: 9, hidden_size: 96, num_heads: 3, L_layers: 1 }),
  mlp_t: randomConfig({ seq_len: 11, hidden_size: 40, num_heads: 2, L_layers: 2, mlp_t: true, pos_encodings: 'none' }),
};

describe.each(Object.entries(CONFIGS))('%s', (_name, config) => {
  const weights = randomWeights(config, { seed: 5, qHeadStd: 0.1, puzzleEmbStd: 0.1 });
  const batch = 9;
  const inputs = Int32Array.from({ length: batch * config.seq_len }, (_, i) => (i * 5 + 3) % config.vocab_size);
  const ids = Int32Array.from({ length: batch }, (_, i) => i % config.num_puzzle_identifiers);
  const sample = (s: number) => ({ inputs: inputs.subarray(s * config.seq_len, (s + 1) * config.seq_len), puzzleIdentifiers: ids.subarray(s, s + 1) });

  it.each([
    ...supportedIsas().map((isa) => [isa, 'fp32'] as const),
    [supportedIsas()[0], 'bf16'] as const,
    ...supportedIsas().map((isa) => [isa, 'int8'] as const),
  ])('every batch size and thread count gives each sample its single-thread result bit for bit (%s, %s)', (isa, precision) => {
    const options = { maxSteps: 3, haltThreshold: null, returnCarry: true } as const;
    const alone = createModel(config, weights, { threads: 1, isa, precision });
    const reference = Array.from({ length: batch }, (_, s) => alone.inferSync(sample(s), options));
    alone.dispose();
    const carryPer = reference[0].carry!.zH.length;
    const logitsPer = reference[0].logits.length;
    for (const [threads, bound] of [[2, '0'], [3, '0'], [2, undefined], [3, undefined]] as const) {
      const model = withSplitBound(bound, () => createModel(config, weights, { threads, isa, precision }));
      // The default rule runs batch 1 of these small layers on one thread (and maybe batch 2
      // of 3 threads); bound 0 runs none on one thread.
      const below = model.info.oneThreadBelowBatch!;
      if (bound === '0') expect(below).toBe(1);
      else expect([below >= 2, below <= threads], `oneThreadBelowBatch ${below}`).toEqual([true, true]);
      for (const n of [1, 2, 3, 4, 9]) {
        const r = model.inferSync({ inputs: inputs.subarray(0, n * config.seq_len), puzzleIdentifiers: ids.subarray(0, n) }, options);
        for (let s = 0; s < n; s++) {
          const label = `threads ${threads}, split bound ${bound ?? 'default'}, batch ${n}, sample ${s}`;
          expect(Array.from(r.logits.subarray(s * logitsPer, (s + 1) * logitsPer)), label).toEqual(Array.from(reference[s].logits));
          expect(Array.from(r.carry!.zH.subarray(s * carryPer, (s + 1) * carryPer)), label).toEqual(Array.from(reference[s].carry!.zH));
          expect(r.qHalt[s], label).toBe(reference[s].qHalt[0]);
        }
      }
      model.dispose();
    }
  });
});

describe('which batches run on one thread', () => {
  // hidden 32 over 8 positions: about 0.08 MFLOP a region, so even batch 3 of 4 threads is
  // under the bound.
  const small = randomConfig({ seq_len: 8, hidden_size: 32, num_heads: 2, L_layers: 1 });
  // hidden 256 over 64 positions: about 57 MFLOP a layer, 9.5 a region, well above the bound.
  const large = randomConfig({ seq_len: 64, hidden_size: 256, num_heads: 4, L_layers: 1 });
  const load = (config: typeof small, threads: number, bound?: string) =>
    withSplitBound(bound, () => createModel(config, randomWeights(config, { seed: 1 }), { threads }));

  it('small layers: batches under the thread count run on one thread; large layers and 1-thread models never', () => {
    const cases: Array<[typeof small, number, string | undefined, number]> = [
      [small, 1, undefined, 1],
      [small, 2, undefined, 2],
      [small, 4, undefined, 4],
      [small, 4, '0', 1],
      [large, 2, undefined, 1],
      [large, 4, undefined, 1],
      // A bound of 1e9 FLOP a region: everything under the thread count on one thread.
      [large, 4, '1e9', 4],
    ];
    for (const [config, threads, bound, expected] of cases) {
      const model = load(config, threads, bound);
      expect(model.info.oneThreadBelowBatch, `hidden ${config.hidden_size}, ${threads} threads, bound ${bound ?? 'default'}`).toBe(expected);
      model.dispose();
    }
  });

  it('an unreadable TRM_SPLIT_MIN_REGION_FLOPS keeps the default rule', () => {
    for (const bad of ['fast', '-1', '3x', '']) {
      const model = load(small, 2, bad);
      expect(model.info.oneThreadBelowBatch, bad).toBe(2);
      model.dispose();
    }
  });
});
