/**
 * The token vocabulary a codec builds: a fixed head of special tokens every codec shares,
 * then the blocks each codec appends (digits, category values, bytes, label classes), each
 * token with a name for people. The ids follow from the codec's description alone, so the
 * same codec.json gives the same ids on every machine.
 */

/** Filler: positions past the end of a text, unused digit positions of a missing number. */
export const PAD = 0;
/** The input token at every label slot: "the answer goes here". */
export const QUERY = 1;
/** An optional field that is absent or null. */
export const MISSING = 2;
/** A category value the training data never had. */
export const UNK = 3;
/** An empty label slot: a label list shorter than its slots. */
export const NONE = 4;
export const SPECIAL_TOKENS = ['PAD', 'QUERY', 'MISSING', 'UNK', 'NONE'] as const;

export class Vocabulary {
  readonly names: string[] = [...SPECIAL_TOKENS];

  /** Appends one token per name; returns the id of the first. */
  block(names: readonly string[]): number {
    const first = this.names.length;
    this.names.push(...names);
    return first;
  }

  get size(): number {
    return this.names.length;
  }
}
