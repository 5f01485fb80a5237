/**
 * Short text to tokens: one token per UTF-8 byte, PAD to a fixed maximum length, then the
 * label slots. Bytes rather than a vocabulary learned from the training set because the
 * inputs this is for (assistant utterances, typed by people) are full of what a learned
 * vocabulary maps to UNK: typos ("alrm"), slot values training never had (a city, a song),
 * other scripts. Bytes never lose a character, so "alrm" still looks like "alarm" to the
 * model; the price is length (a word is several tokens), which a fixed maximum of ~100 bytes
 * keeps small. Text longer than the maximum is cut at a character boundary and the encoding
 * says so in its notes. Text is lower-cased first when `lowercase` is set.
 */
import { InputError, ModelFormatError } from '../errors';
import { LabelLayout, parseLabelSpec, type LabelSpec } from './labels';
import { PAD, QUERY, Vocabulary } from './tokens';
import { CODEC_FORMAT, type CodecBase, type EncodeNote, type EncodedInput } from './codec-types';

export interface TextCodecJson {
  format: typeof CODEC_FORMAT;
  kind: 'text';
  encoding: 'utf8-bytes';
  /** Bytes of text at most; longer text is truncated (at a character boundary). */
  maxLength: number;
  lowercase: boolean;
  label: LabelSpec;
}

export const MAX_TEXT_LENGTH = 4096;

function byteName(b: number): string {
  return b > 32 && b < 127 ? String.fromCharCode(b) : b === 32 ? 'space' : `0x${b.toString(16).padStart(2, '0')}`;
}

export class TextCodec implements CodecBase {
  readonly kind = 'text';
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly tokenNames: readonly string[];
  readonly labels: LabelLayout;
  readonly maxLength: number;
  readonly lowercase: boolean;
  private readonly byte0: number;

  constructor(json: TextCodecJson) {
    this.maxLength = json.maxLength;
    this.lowercase = json.lowercase;
    const vocab = new Vocabulary();
    this.byte0 = vocab.block(Array.from({ length: 256 }, (_, b) => byteName(b)));
    this.labels = new LabelLayout(json.label, vocab, this.maxLength);
    this.seqLen = this.maxLength + this.labels.slots.length;
    this.vocabSize = vocab.size;
    this.tokenNames = vocab.names;
  }

  toJSON(): TextCodecJson {
    return { format: CODEC_FORMAT, kind: 'text', encoding: 'utf8-bytes', maxLength: this.maxLength, lowercase: this.lowercase, label: this.labels.spec };
  }

  /** The UTF-8 bytes the text is encoded from (after lower-casing), before truncation. */
  bytesOf(text: string): Uint8Array {
    return Buffer.from(this.lowercase ? text.toLowerCase() : text, 'utf8');
  }

  encodeInput(input: unknown): EncodedInput {
    if (typeof input !== 'string') throw new InputError('the input is not text', { field: 'input', value: input, expected: 'a string' });
    if (input.length === 0) throw new InputError('the input text is empty', { field: 'input', value: input, expected: 'at least one character' });
    const bytes = this.bytesOf(input);
    const notes: EncodeNote[] = [];
    let length = bytes.length;
    if (length > this.maxLength) {
      length = this.maxLength;
      // Back to the start of a character: 10xxxxxx bytes continue the one before.
      while (length > 0 && (bytes[length] & 0xc0) === 0x80) length--;
      notes.push({ kind: 'truncated', field: 'input', value: bytes.length, message: `input: ${bytes.length} bytes, cut to the first ${length} (the codec's maximum is ${this.maxLength})` });
    }
    const inputs = new Int32Array(this.seqLen).fill(PAD);
    for (let i = 0; i < length; i++) inputs[i] = this.byte0 + bytes[i];
    for (const slot of this.labels.slots) inputs[slot.position] = QUERY;
    return { inputs, notes };
  }

  decodeInput(tokens: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < this.maxLength; i++) {
      const t = tokens[i];
      if (t === PAD) break;
      const b = t - this.byte0;
      if (!(b >= 0 && b < 256)) throw new InputError('not a byte token', { field: `inputs[${i}]`, value: t, expected: `PAD or a token in [${this.byte0}, ${this.byte0 + 256})` });
      bytes.push(b);
    }
    return Buffer.from(bytes).toString('utf8');
  }

  sampleInput(): string {
    return '';
  }

  describe(): string[] {
    return [`text: UTF-8 bytes, one token each, at most ${this.maxLength} (longer text is truncated and reported)${this.lowercase ? ', lower-cased first' : ''}; positions 0-${this.maxLength - 1}`];
  }

  suggestedConfig(): Record<string, unknown> {
    // Attention with RoPE: a keyword means the same wherever it sits in the utterance, which
    // relative positions give for free and mlp_t (one weight per position pair) must learn per position.
    return {
      hidden_size: 64, num_heads: 2, expansion: 4, H_cycles: 2, L_cycles: 2, L_layers: 2, halt_max_steps: 4,
      halt_exploration_prob: 0.1, pos_encodings: 'rope', mlp_t: false, puzzle_emb_ndim: 0, puzzle_emb_len: 0, no_ACT_continue: true,
    };
  }
}

export function parseTextCodec(raw: Record<string, unknown>, file: string): TextCodec {
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new ModelFormatError('invalid text codec', { file, field, value, expected });
  };
  if (raw.encoding !== 'utf8-bytes') fail('encoding', raw.encoding, '"utf8-bytes"');
  const maxLength = raw.maxLength;
  if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_TEXT_LENGTH) fail('maxLength', maxLength, `an integer in [1, ${MAX_TEXT_LENGTH}]`);
  if (raw.lowercase !== undefined && typeof raw.lowercase !== 'boolean') fail('lowercase', raw.lowercase, 'true or false');
  return new TextCodec({ format: CODEC_FORMAT, kind: 'text', encoding: 'utf8-bytes', maxLength: maxLength as number, lowercase: raw.lowercase === true, label: parseLabelSpec(raw.label, file) });
}
