/**
 * The persistent batch of the official training loop (pretrain.py with ACTLossHead and
 * TinyRecursiveReasoningModel_ACTV1.forward): B slots, each holding one example and its
 * recursion state (carry, ACT steps so far). A slot that halted at the last step takes the
 * next example of the stream and starts again from the initial carry (H_init / L_init
 * broadcast over positions); the others continue from their carry. So one optimizer step
 * sees examples at every depth of their recursion, and a hard example stays up to
 * halt_max_steps steps.
 */
import type { Example } from '../tasks/task';
import { IGNORE_LABEL } from '../tasks/task';

export class BatchSlots {
  readonly size: number;
  readonly seqLen: number;
  /** Floats of one slot's carry (positions incl. the puzzle prefix x hidden). */
  readonly carryStride: number;
  readonly inputs: Int32Array;
  readonly labels: Int32Array;
  readonly puzzleIdentifiers: Int32Array;
  /** ACT steps each slot's example has run. */
  readonly steps: Int32Array;
  /** 1 where the slot's example halted at the last step (all slots start halted, as officially). */
  readonly halted: Uint8Array;
  /** Labelled positions of each slot's example (an example with none is left out of the metrics, as officially). */
  readonly labelled: Int32Array;
  zH: Float32Array;
  zL: Float32Array;

  constructor(size: number, seqLen: number, carryStride: number) {
    this.size = size;
    this.seqLen = seqLen;
    this.carryStride = carryStride;
    this.inputs = new Int32Array(size * seqLen);
    this.labels = new Int32Array(size * seqLen);
    this.puzzleIdentifiers = new Int32Array(size);
    this.steps = new Int32Array(size);
    this.halted = new Uint8Array(size).fill(1);
    this.labelled = new Int32Array(size);
    this.zH = new Float32Array(size * carryStride);
    this.zL = new Float32Array(size * carryStride);
  }

  /** Gives every halted slot the next example and the initial carry (`hInit` / `lInit`: [hidden] each). */
  refill(next: () => Example, hInit: Float32Array, lInit: Float32Array): void {
    const D = hInit.length;
    for (let b = 0; b < this.size; b++) {
      if (!this.halted[b]) continue;
      const example = next();
      this.inputs.set(example.inputs, b * this.seqLen);
      this.labels.set(example.labels, b * this.seqLen);
      this.puzzleIdentifiers[b] = example.puzzleIdentifier;
      let labelled = 0;
      for (const l of example.labels) if (l !== IGNORE_LABEL) labelled++;
      this.labelled[b] = labelled;
      this.steps[b] = 0;
      for (let row = b * this.carryStride; row < (b + 1) * this.carryStride; row += D) {
        this.zH.set(hInit, row);
        this.zL.set(lInit, row);
      }
    }
  }
}
