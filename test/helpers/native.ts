/**
 * Whether the loaded native addon runs a precision. The int8 kernels land separately from
 * the int8 file format and ONNX graph, so the native-int8 tests ask this first and skip,
 * saying why, when the addon refuses the precision (an OptionError naming it); any other
 * failure is a real error and is thrown.
 */
import { OptionError, createModel } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import type { Precision } from '../../lib/types';

export interface PrecisionSupport {
  supported: boolean;
  /** The addon's refusal when not supported. */
  error?: OptionError;
}

const cache = new Map<Precision, PrecisionSupport>();

export function nativeSupportsPrecision(precision: Precision): PrecisionSupport {
  let known = cache.get(precision);
  if (known === undefined) {
    const config = randomConfig({ seq_len: 4, vocab_size: 3, hidden_size: 8, num_heads: 1, L_layers: 1, H_cycles: 1, L_cycles: 1 });
    try {
      createModel(config, randomWeights(config, { seed: 1 }), { threads: 1, precision }).dispose();
      known = { supported: true };
    } catch (e) {
      if (!(e instanceof OptionError) || !/precision/.test(e.message)) throw e;
      known = { supported: false, error: e };
    }
    cache.set(precision, known);
  }
  return known;
}

/** The line a skipped native-precision test prints. */
export function nativeSkipMessage(precision: Precision, what: string): string {
  const why = nativeSupportsPrecision(precision).error?.message ?? '';
  return `skipping ${what}: the native addon does not run precision '${precision}' yet (${why})`;
}
