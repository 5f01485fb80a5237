/**
 * The initial carry of the recursion, which the `step` graph takes as input: this is the
 * `init` a caller of the ONNX model needs before the first ACT step. The official ACT
 * wrapper resets a fresh sample's carry to `H_init` / `L_init` broadcast over every position
 * (`reset_carry` in trm.py); the `run` graph builds the same carry inside the graph.
 */
import { InputError, ModelFormatError } from '../errors';
import { TrmConfig, modelDimensions } from '../model/config';
import { WeightMap } from '../model/weights';

export interface Carry {
  /** [batch, seq_len + puzzle prefix, hidden], row-major. */
  zH: Float32Array;
  zL: Float32Array;
}

export function initialCarry(config: TrmConfig, weights: WeightMap, batch: number): Carry {
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new InputError('invalid batch size for the initial carry', { field: 'batch', value: batch, expected: 'an integer >= 1' });
  }
  const D = config.hidden_size;
  const { totalLen } = modelDimensions(config);
  const init = (name: string): Float32Array => {
    const w = weights[name];
    if (w === undefined || w.length !== D) {
      throw new ModelFormatError('initial carry vector missing or of the wrong size', {
        field: name, value: w === undefined ? undefined : w.length, expected: `a tensor of hidden_size = ${D} values`,
      });
    }
    return w;
  };
  const hInit = init('inner.H_init');
  const lInit = init('inner.L_init');
  const zH = new Float32Array(batch * totalLen * D);
  const zL = new Float32Array(batch * totalLen * D);
  for (let row = 0; row < batch * totalLen; row++) {
    zH.set(hInit, row * D);
    zL.set(lInit, row * D);
  }
  return { zH, zL };
}
