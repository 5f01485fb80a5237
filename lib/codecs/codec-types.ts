/** What every codec offers (record-codec.ts, text-codec.ts); codec.ts joins them. */
import type { LabelLayout } from './labels';

/** The `format` of every codec.json this version writes and reads. */
export const CODEC_FORMAT = 'trm-codec/1';

/** Something an encoding had to change and the caller should hear about. */
export interface EncodeNote {
  /** 'unknown': a category value never seen in training (encoded as UNK); 'truncated': text cut to the maximum length. */
  kind: 'unknown' | 'truncated';
  /** The input field ('input.element_features.type', 'input'). */
  field: string;
  value?: unknown;
  message: string;
}

export interface EncodedInput {
  /** seq_len tokens: the input's tokens, then QUERY at every label slot. */
  inputs: Int32Array;
  notes: EncodeNote[];
}

export interface CodecBase {
  readonly kind: 'record' | 'text';
  readonly seqLen: number;
  readonly vocabSize: number;
  /** A name per token id, for people. */
  readonly tokenNames: readonly string[];
  readonly labels: LabelLayout;
  encodeInput(input: unknown): EncodedInput;
  /** The input an input sequence came from (UNK values and truncated text as they were encoded). */
  decodeInput(tokens: ArrayLike<number>): unknown;
  /** Lines describing the layout, for people checking it. */
  describe(): string[];
  /** An input of this codec's shape to start from (a record with a valid value in every field; empty text), for forms. */
  sampleInput(): unknown;
  /** Model config keys (official names) that suit this kind of input; seq_len and vocab_size come from the codec. */
  suggestedConfig(): Record<string, unknown>;
  toJSON(): object;
}
