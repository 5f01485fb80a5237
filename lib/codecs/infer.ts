/**
 * A codec inferred from training data, for the user to check (trm train writes it to
 * codec.json and prints it):
 * - records: every leaf path becomes a field; strings are categories (the values seen),
 *   numbers are numbers, booleans booleans; a field absent or null on some line is optional.
 *   Every number field gets one shared layout, the widest the data needs (integer digits of
 *   the largest magnitude, the most decimals seen, a sign when any value is negative), so any
 *   two number fields line up digit by digit and can be compared; the stated range is what
 *   that layout holds ([0, 999.9] for 3 + 1 digits), not just what training saw;
 * - text: the longest training text (in UTF-8 bytes) rounded up to a multiple of 8, lower-cased;
 * - labels: a scalar is a class, an object several label fields, a list a multi-label list
 *   (its slots: the longest list seen); the classes are the values seen, sorted.
 * A field whose type changes between lines is a DatasetError naming both lines.
 */
import { DatasetError, InputError } from '../errors';
import { parseCodec, type Codec } from './codec';
import type { LabelledRecord } from './dataset';
import { classKey, isScalar, type LabelSpec, type Scalar } from './labels';
import { MAX_NUMBER_DIGITS, decimalsOf } from './numeric';
import { flattenRecord } from './paths';
import type { FieldSpec } from './record-codec';
import { CODEC_FORMAT } from './codec-types';
import { MAX_TEXT_LENGTH } from './text-codec';

/** Most decimals an inferred number layout takes; more needs a declared schema. */
const MAX_INFERRED_DECIMALS = 6;

export function inferCodec(records: readonly LabelledRecord[], file: string): Codec {
  if (records.length === 0) throw new DatasetError('no examples to infer a codec from', { field: 'file', file });
  const text = typeof records[0].input === 'string';
  for (const r of records) {
    if ((typeof r.input === 'string') !== text) {
      throw new DatasetError(`the inputs mix ${text ? 'texts' : 'records'} and ${text ? 'records' : 'texts'}`, { line: r.line, field: 'input', value: r.input, expected: `${text ? 'a text' : 'a record'}, as on line ${records[0].line}`, file });
    }
  }
  const label = inferLabel(records, file);
  const raw = text
    ? { format: CODEC_FORMAT, kind: 'text', encoding: 'utf8-bytes', maxLength: inferTextLength(records), lowercase: true, label }
    : { format: CODEC_FORMAT, kind: 'record', fields: inferFields(records, file), label };
  return parseCodec(raw, file);
}

function inferTextLength(records: readonly LabelledRecord[]): number {
  let longest = 1;
  for (const r of records) longest = Math.max(longest, Buffer.byteLength((r.input as string).toLowerCase(), 'utf8'));
  return Math.min(MAX_TEXT_LENGTH, Math.ceil(longest / 8) * 8);
}

type Kind = 'number' | 'category' | 'boolean';

function kindOf(value: unknown): Kind | 'null' | 'other' {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : 'other';
  if (typeof value === 'string') return 'category';
  if (typeof value === 'boolean') return 'boolean';
  return 'other';
}

function flatten(r: LabelledRecord, where: 'input' | 'label', file: string): Record<string, unknown> {
  try {
    return flattenRecord(where === 'input' ? r.input as Record<string, unknown> : r.label as Record<string, unknown>, where);
  } catch (e) {
    if (e instanceof InputError) throw new DatasetError(e.summary, { line: r.line, field: e.field, value: e.value, expected: e.expected, file });
    throw e;
  }
}

function inferFields(records: readonly LabelledRecord[], file: string): FieldSpec[] {
  interface Seen { kind?: Kind; firstLine: number; present: number; values: Set<string>; maxAbs: number; negative: boolean; decimals: number }
  const seen = new Map<string, Seen>();
  for (const r of records) {
    for (const [path, value] of Object.entries(flatten(r, 'input', file))) {
      const kind = kindOf(value);
      if (kind === 'other') {
        throw new DatasetError('a record field is neither a number, a string, a boolean nor null', { line: r.line, field: `input.${path}`, value, expected: 'a scalar or a nested object (lists are not fields: give each item its own field)', file });
      }
      const s = seen.get(path) ?? { firstLine: r.line, present: 0, values: new Set<string>(), maxAbs: 0, negative: false, decimals: 0 };
      seen.set(path, s);
      if (kind === 'null') continue;
      if (s.kind !== undefined && s.kind !== kind) {
        throw new DatasetError(`the field is a ${s.kind} on line ${s.firstLine} and a ${kind} here`, { line: r.line, field: `input.${path}`, value, expected: `a ${s.kind} on every line (or declare the schema with --codec)`, file });
      }
      if (s.kind === undefined) {
        s.kind = kind;
        s.firstLine = r.line;
      }
      s.present++;
      if (kind === 'category') s.values.add(value as string);
      if (kind === 'number') {
        const v = value as number;
        s.maxAbs = Math.max(s.maxAbs, Math.abs(v));
        s.negative ||= v < 0;
        s.decimals = Math.max(s.decimals, decimalsOf(v));
      }
    }
  }
  const numbers = [...seen.entries()].filter(([, s]) => s.kind === 'number');
  const decimals = Math.max(0, ...numbers.map(([, s]) => s.decimals));
  if (decimals > MAX_INFERRED_DECIMALS) {
    const [path] = numbers.find(([, s]) => s.decimals === decimals)!;
    throw new DatasetError(`a number field has ${decimals} decimals`, { field: `input.${path}`, value: decimals, expected: `at most ${MAX_INFERRED_DECIMALS} to infer a layout; declare the field's precision with --codec`, file });
  }
  const integerDigits = Math.max(1, ...numbers.map(([, s]) => String(Math.floor(s.maxAbs)).length));
  if (integerDigits + decimals > MAX_NUMBER_DIGITS) {
    throw new DatasetError('the numbers need too many digits', { field: 'input', value: integerDigits + decimals, expected: `at most ${MAX_NUMBER_DIGITS} digits; declare the fields with --codec`, file });
  }
  const negative = numbers.some(([, s]) => s.negative);
  // The largest value the shared layout holds: 999.9 for 3 integer digits and 1 decimal.
  const cap = Number((10 ** integerDigits - 10 ** -decimals).toFixed(decimals));
  const fields: FieldSpec[] = [];
  for (const [path, s] of seen) {
    const optional = s.present < records.length ? { optional: true } : {};
    if (s.kind === undefined) {
      throw new DatasetError('the field is null on every line', { line: s.firstLine, field: `input.${path}`, expected: 'a value on at least one line, to know its type', file });
    }
    if (s.kind === 'number') fields.push({ path, type: 'number', min: negative ? -cap : 0, max: cap, decimals, ...optional });
    else if (s.kind === 'boolean') fields.push({ path, type: 'boolean', ...optional });
    else fields.push({ path, type: 'category', values: [...s.values].sort(), ...optional });
  }
  return fields;
}

function sortClasses(values: Map<string, Scalar>): Scalar[] {
  return [...values.values()].sort((a, b) => (typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0) : typeof a < typeof b ? -1 : 1));
}

function inferLabel(records: readonly LabelledRecord[], file: string): LabelSpec {
  const first = records[0].label;
  const shape = (v: unknown) => (Array.isArray(v) ? 'list' : typeof v === 'object' && v !== null ? 'fields' : 'class');
  const kind = shape(first);
  const badClass = (r: LabelledRecord, field: string, value: unknown): never => {
    throw new DatasetError('a label class is not a string, a number or a boolean', { line: r.line, field, value, expected: 'a scalar class', file });
  };
  for (const r of records) {
    if (shape(r.label) !== kind) throw new DatasetError(`the labels mix shapes (a ${kind} on line ${records[0].line})`, { line: r.line, field: 'label', value: r.label, expected: `a ${kind === 'class' ? 'class' : kind === 'list' ? 'list of classes' : 'object of label fields'} on every line`, file });
  }
  if (kind === 'class') {
    const classes = new Map<string, Scalar>();
    for (const r of records) {
      if (!isScalar(r.label)) badClass(r, 'label', r.label);
      classes.set(classKey(r.label), r.label as Scalar);
    }
    return { kind: 'class', classes: sortClasses(classes) };
  }
  if (kind === 'list') {
    const classes = new Map<string, Scalar>();
    let maxItems = 1;
    for (const r of records) {
      const list = r.label as unknown[];
      if (list.length === 0) throw new DatasetError('an empty label list', { line: r.line, field: 'label', value: list, expected: 'at least one class', file });
      maxItems = Math.max(maxItems, list.length);
      list.forEach((c, k) => {
        if (!isScalar(c)) badClass(r, `label[${k}]`, c);
        classes.set(classKey(c), c as Scalar);
      });
    }
    return { kind: 'list', classes: sortClasses(classes), maxItems };
  }
  const fields = new Map<string, Map<string, Scalar>>();
  for (const r of records) {
    for (const [path, value] of Object.entries(flatten(r, 'label', file))) {
      if (!isScalar(value)) badClass(r, `label.${path}`, value);
      const classes = fields.get(path) ?? new Map<string, Scalar>();
      classes.set(classKey(value), value as Scalar);
      fields.set(path, classes);
    }
  }
  for (const r of records) {
    const present = flatten(r, 'label', file);
    for (const path of fields.keys()) {
      if (!(path in present)) throw new DatasetError('a label field is missing', { line: r.line, field: `label.${path}`, expected: 'every label field on every line', file });
    }
  }
  return { kind: 'fields', fields: [...fields].map(([path, classes]) => ({ path, classes: sortClasses(classes) })) };
}
