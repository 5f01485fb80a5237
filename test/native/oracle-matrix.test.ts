/**
 * The native operator against the float64 oracle (test/oracle/reference.ts, itself held to
 * the golden data) on configurations the golden data does not cover: odd hidden and head
 * sizes, 1-3 layers, batches of 1-5, sequence lengths that do not divide any SIMD width,
 * with and without the puzzle prefix, each position encoding, attention and mlp_t. Every
 * ISA runs each case from a random (non-initial) carry, so every layer sees real values.
 */
import { describe, expect, it } from 'vitest';
import { createModel, supportedIsas, type TrmConfig } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { SeededRandom } from '../../lib/util/seeded-random';
import { modelDimensions } from '../../lib/model/config';
import { referenceStep } from '../oracle/reference';
import { relativeError } from '../helpers/golden';

// Float32 against float64 through H_cycles * (L_cycles + 1) * layers blocks.
const TOLERANCE = 1e-4;

interface Case { label: string; batch: number; config: Partial<TrmConfig> }

const CASES: Case[] = [
  { label: 'rope, hidden 36 / 3 heads, seq 13, prefix 2', batch: 3, config: { hidden_size: 36, num_heads: 3, seq_len: 13, puzzle_emb_ndim: 40, puzzle_emb_len: 0, num_puzzle_identifiers: 4 } },
  { label: 'learned, hidden 33 / 3 heads (head 11), seq 7, 3 layers', batch: 5, config: { hidden_size: 33, num_heads: 3, seq_len: 7, pos_encodings: 'learned', L_layers: 3 } },
  { label: 'none, hidden 20 / 5 heads (head 4), seq 17, prefix 3', batch: 2, config: { hidden_size: 20, num_heads: 5, seq_len: 17, pos_encodings: 'none', puzzle_emb_ndim: 20, puzzle_emb_len: 3, num_puzzle_identifiers: 2 } },
  { label: 'rope, hidden 40 / 2 heads (head 20), seq 31, 2 layers, H3 L1', batch: 1, config: { hidden_size: 40, num_heads: 2, seq_len: 31, L_layers: 2, H_cycles: 3, L_cycles: 1 } },
  { label: 'mlp_t, hidden 24, seq 9, prefix 1, 2 layers', batch: 4, config: { hidden_size: 24, num_heads: 2, seq_len: 9, mlp_t: true, pos_encodings: 'none', puzzle_emb_ndim: 24, puzzle_emb_len: 1, num_puzzle_identifiers: 3, L_layers: 2 } },
  { label: 'mlp_t, hidden 17, seq 33 (token width 256+), 1 layer, expansion 3', batch: 3, config: { hidden_size: 17, num_heads: 1, seq_len: 33, mlp_t: true, pos_encodings: 'none', expansion: 3 } },
  { label: 'rope, hidden 64 / 4 heads, seq 65, vocab 13, expansion 4', batch: 2, config: { hidden_size: 64, num_heads: 4, seq_len: 65, vocab_size: 13, expansion: 4 } },
];

function randomCarry(rng: SeededRandom, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

describe.each(CASES)('$label', ({ batch, config: overrides }) => {
  const config = randomConfig(overrides);
  const dims = modelDimensions(config);
  const weights = randomWeights(config, { seed: 11, qHeadStd: 0.2, puzzleEmbStd: 1 / Math.sqrt(config.hidden_size) });
  const rng = new SeededRandom(5, 'inputs');
  const inputs = Int32Array.from({ length: batch * config.seq_len }, () => rng.nextU32() % config.vocab_size);
  const puzzleIdentifiers = Int32Array.from({ length: batch }, (_, b) => b % config.num_puzzle_identifiers);
  const size = batch * dims.totalLen * config.hidden_size;
  const zH = randomCarry(rng, size), zL = randomCarry(rng, size);
  const ref = referenceStep(config, weights, { inputs, puzzleIdentifiers, zH: Float64Array.from(zH), zL: Float64Array.from(zL) });

  it.each(supportedIsas())('one step matches the float64 oracle (%s)', (isa) => {
    const model = createModel(config, weights, { isa: isa as 'scalar', threads: 2 });
    const r = model.inferSync({ inputs, puzzleIdentifiers, carry: { zH, zL } }, { maxSteps: 1, returnCarry: true });
    const errors = {
      logits: relativeError(r.logits, ref.logits),
      qHalt: relativeError(r.qHalt, ref.qHalt),
      qContinue: relativeError(r.qContinue, ref.qContinue),
      zH: relativeError(r.carry!.zH, ref.zH),
      zL: relativeError(r.carry!.zL, ref.zL),
    };
    console.log(`[${isa}] ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const v of Object.values(errors)) expect(v).toBeLessThan(TOLERANCE);
    model.dispose();
  });
});
