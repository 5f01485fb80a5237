/**
 * Records (JSON objects, nested fields by path) to tokens: each schema field, in schema
 * order, takes a fixed run of positions, then the label slots follow.
 * - category: one token, the value's own (each field has its own block); a value the
 *   training data never had is UNK, and the encoding says so in its notes;
 * - number: fixed-point digit tokens (numeric.ts), out of range is an InputError;
 * - boolean: TRUE or FALSE;
 * - optional fields: absent or null is MISSING (in the field's first position, PAD after).
 * A field the schema does not have, or a missing field that is not optional, is an
 * InputError naming its path.
 */
import { InputError, ModelFormatError } from '../errors';
import { LabelLayout, parseLabelSpec, type LabelSpec } from './labels';
import { MAX_NUMBER_DIGITS, decimalsOf, numberWidth, readNumber, writeNumber, type NumberLayout } from './numeric';
import { flattenRecord, getPath, setPath } from './paths';
import { MISSING, PAD, QUERY, UNK, Vocabulary } from './tokens';
import { CODEC_FORMAT, type CodecBase, type EncodeNote, type EncodedInput } from './codec-types';

export type FieldSpec =
  | { path: string; type: 'category'; values: string[]; optional?: boolean }
  | ({ path: string; type: 'number'; optional?: boolean } & NumberLayout)
  | { path: string; type: 'boolean'; optional?: boolean };

export interface RecordCodecJson {
  format: typeof CODEC_FORMAT;
  kind: 'record';
  fields: FieldSpec[];
  label: LabelSpec;
}

interface FieldLayout {
  spec: FieldSpec;
  position: number;
  width: number;
  /** category: token of values[0]. */
  firstToken: number;
  index?: Map<string, number>;
}

/** A category value's key: values are kept as strings, so 7 and "7" are one value. */
function categoryKey(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

export class RecordCodec implements CodecBase {
  readonly kind = 'record';
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly tokenNames: readonly string[];
  readonly labels: LabelLayout;
  readonly fields: readonly FieldSpec[];
  private readonly layout: FieldLayout[];
  private readonly numberTokens: { digit0: number; minus: number; plus: number };
  private readonly booleanTokens: { no: number; yes: number };

  constructor(json: RecordCodecJson) {
    this.fields = json.fields;
    const vocab = new Vocabulary();
    const digit0 = vocab.block(Array.from({ length: 10 }, (_, d) => String(d)));
    const minus = vocab.block(['-', '+']);
    this.numberTokens = { digit0, minus, plus: minus + 1 };
    const no = vocab.block(['false', 'true']);
    this.booleanTokens = { no, yes: no + 1 };
    let position = 0;
    this.layout = json.fields.map((spec) => {
      const width = spec.type === 'number' ? numberWidth(spec) : 1;
      const field: FieldLayout = { spec, position, width, firstToken: -1 };
      if (spec.type === 'category') {
        field.firstToken = vocab.block(spec.values.map((v) => `${spec.path}=${v}`));
        field.index = new Map(spec.values.map((v, k) => [v, k]));
      }
      position += width;
      return field;
    });
    this.labels = new LabelLayout(json.label, vocab, position);
    this.seqLen = position + this.labels.slots.length;
    this.vocabSize = vocab.size;
    this.tokenNames = vocab.names;
  }

  toJSON(): RecordCodecJson {
    return { format: CODEC_FORMAT, kind: 'record', fields: this.fields.map((f) => ({ ...f })), label: this.labels.spec };
  }

  encodeInput(input: unknown): EncodedInput {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new InputError('the input is not a record', { field: 'input', value: input, expected: 'a JSON object with the schema fields' });
    }
    const record = input as Record<string, unknown>;
    const known = new Set(this.fields.map((f) => f.path));
    for (const path of Object.keys(flattenRecord(record, 'input'))) {
      if (!known.has(path)) throw new InputError('a field the schema does not have', { field: `input.${path}`, value: getPath(record, path), expected: `only the schema fields: ${[...known].join(', ')}` });
    }
    const inputs = new Int32Array(this.seqLen).fill(PAD);
    const notes: EncodeNote[] = [];
    for (const f of this.layout) {
      const field = `input.${f.spec.path}`;
      const value = getPath(record, f.spec.path);
      if (value === undefined || value === null) {
        if (!f.spec.optional) throw new InputError('missing field', { field, value, expected: `a ${f.spec.type} (the field is not optional)` });
        inputs[f.position] = MISSING;
        continue;
      }
      if (f.spec.type === 'number') {
        writeNumber(value, f.spec, inputs, f.position, this.numberTokens, field);
      } else if (f.spec.type === 'boolean') {
        if (typeof value !== 'boolean') throw new InputError('not a boolean', { field, value, expected: 'true or false' });
        inputs[f.position] = value ? this.booleanTokens.yes : this.booleanTokens.no;
      } else {
        const key = categoryKey(value);
        if (key === undefined) throw new InputError('not a category value', { field, value, expected: 'a string (or a number or boolean, read as its text)' });
        const k = f.index!.get(key);
        if (k === undefined) {
          inputs[f.position] = UNK;
          notes.push({ kind: 'unknown', field, value, message: `${field}: ${JSON.stringify(value)} is not among the ${f.spec.values.length} values seen in training; encoded as UNK` });
        } else {
          inputs[f.position] = f.firstToken + k;
        }
      }
    }
    for (const slot of this.labels.slots) inputs[slot.position] = QUERY;
    return { inputs, notes };
  }

  /** The record of an input sequence: MISSING fields are left out, UNK categories come back as null. */
  decodeInput(tokens: ArrayLike<number>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of this.layout) {
      const token = tokens[f.position];
      const field = `inputs[${f.position}] (${f.spec.path})`;
      if (token === MISSING) continue;
      let value: unknown;
      if (f.spec.type === 'number') {
        value = readNumber(tokens, f.position, f.spec, this.numberTokens, field);
      } else if (f.spec.type === 'boolean') {
        if (token !== this.booleanTokens.yes && token !== this.booleanTokens.no) throw new InputError('not a boolean token', { field, value: token, expected: `${this.booleanTokens.no} or ${this.booleanTokens.yes}` });
        value = token === this.booleanTokens.yes;
      } else if (token === UNK) {
        value = null;
      } else {
        const k = token - f.firstToken;
        if (!(k >= 0 && k < f.spec.values.length)) throw new InputError('not a value token of this field', { field, value: token, expected: `UNK or a token in [${f.firstToken}, ${f.firstToken + f.spec.values.length})` });
        value = f.spec.values[k];
      }
      setPath(out, f.spec.path, value);
    }
    return out;
  }

  /**
   * A record every field of which holds a value the codec encodes as itself (no UNK, no
   * MISSING): a category's first value, a number halfway through its range at its
   * precision, false.
   */
  sampleInput(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of this.fields) {
      const value = s.type === 'category' ? s.values[0]
        : s.type === 'boolean' ? false
          : Number(((s.min + s.max) / 2).toFixed(s.decimals));
      setPath(out, s.path, value);
    }
    return out;
  }

  /** One line per field, for people checking an inferred schema. */
  describe(): string[] {
    return this.layout.map((f) => {
      const s = f.spec;
      const optional = s.optional ? ', optional (MISSING token when absent)' : '';
      const where = `positions ${f.position}${f.width > 1 ? `-${f.position + f.width - 1}` : ''}`;
      if (s.type === 'number') return `${s.path}: number in [${s.min}, ${s.max}], ${s.decimals} decimal(s), ${f.width} digit tokens${optional}; ${where}`;
      if (s.type === 'boolean') return `${s.path}: boolean${optional}; ${where}`;
      const shown = s.values.slice(0, 8).join(', ') + (s.values.length > 8 ? `, ... (${s.values.length} values)` : '');
      return `${s.path}: category of ${s.values.length} (${shown}), unknown values -> UNK${optional}; ${where}`;
    });
  }

  suggestedConfig(): Record<string, unknown> {
    // The shipped compliance model's shape: mlp_t mixing learns the digit comparisons where
    // attention of this size stayed on the all-PASS plateau (lib/tasks/compliance.ts).
    return {
      hidden_size: 128, num_heads: 2, expansion: 4, H_cycles: 2, L_cycles: 2, L_layers: 2, halt_max_steps: 4,
      halt_exploration_prob: 0.1, pos_encodings: 'none', mlp_t: true, puzzle_emb_ndim: 0, puzzle_emb_len: 0, no_ACT_continue: true,
    };
  }
}


/** Checks a record codec read from codec.json. */
export function parseRecordCodec(raw: Record<string, unknown>, file: string): RecordCodec {
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new ModelFormatError('invalid record schema', { file, field, value, expected });
  };
  if (!Array.isArray(raw.fields) || raw.fields.length === 0) fail('fields', raw.fields, 'a non-empty list of field descriptions');
  const seen = new Set<string>();
  const fields = (raw.fields as unknown[]).map((f, k): FieldSpec => {
    const at = `fields[${k}]`;
    if (typeof f !== 'object' || f === null) fail(at, f, '{ "path", "type", ... }');
    const r = f as Record<string, unknown>;
    if (typeof r.path !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(r.path)) fail(`${at}.path`, r.path, 'a field path such as "compliance_check.actual_value"');
    const path = r.path as string;
    for (const other of seen) {
      if (other === path || other.startsWith(`${path}.`) || path.startsWith(`${other}.`)) fail(`${at}.path`, path, `a path that is not ${other} and neither inside nor above it`);
    }
    seen.add(path);
    if (r.optional !== undefined && typeof r.optional !== 'boolean') fail(`${at}.optional`, r.optional, 'true or false');
    const optional = r.optional === true ? { optional: true } : {};
    if (r.type === 'boolean') return { path, type: 'boolean', ...optional };
    if (r.type === 'category') {
      const values = r.values;
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) fail(`${at}.values`, values, 'a non-empty list of strings');
      if (new Set(values as string[]).size !== (values as string[]).length) fail(`${at}.values`, values, 'distinct values');
      return { path, type: 'category', values: values as string[], ...optional };
    }
    if (r.type === 'number') {
      const { min, max, decimals } = r;
      if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > 6) fail(`${at}.decimals`, decimals, 'an integer in [0, 6]');
      if (typeof min !== 'number' || !Number.isFinite(min) || decimalsOf(min) > (decimals as number)) fail(`${at}.min`, min, `a finite number with at most ${decimals} decimal(s)`);
      if (typeof max !== 'number' || !Number.isFinite(max) || (max as number) < (min as number) || decimalsOf(max) > (decimals as number)) fail(`${at}.max`, max, `a number >= min (${min}) with at most ${decimals} decimal(s)`);
      const layout = { min: min as number, max: max as number, decimals: decimals as number };
      if (numberWidth(layout) - (layout.min < 0 ? 1 : 0) > MAX_NUMBER_DIGITS) fail(`${at}.max`, max, `a range of at most ${MAX_NUMBER_DIGITS} digits with the decimals`);
      return { path, type: 'number', ...layout, ...optional };
    }
    return fail(`${at}.type`, r.type, '"category", "number" or "boolean"');
  });
  return new RecordCodec({ format: CODEC_FORMAT, kind: 'record', fields, label: parseLabelSpec(raw.label, file) });
}
