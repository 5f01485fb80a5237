/**
 * Labelled JSONL and codec inference: the schema read from training data (types, nesting,
 * optional fields, one shared number layout, the three label shapes), and every malformed
 * line a DatasetError with the line and the field.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetError, encodeDataset, inferCodec, isLabelledDataset, readLabelledJsonl } from '../../lib/index';
import type { RecordCodec, TextCodec } from '../../lib/index';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-codec-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function fileWith(lines: Array<unknown | string>): string {
  const file = path.join(tmp, `case-${n++}.jsonl`);
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

function datasetError(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

const records = [
  { input: { el: { type: 'door', storey: 2 }, check: { actual: 81.5, required: 85 }, ok: true }, label: 'FAIL' },
  { input: { el: { type: 'stair' }, check: { actual: -3, required: 120 }, ok: false }, label: 'PASS' },
  { input: { el: { type: 'door', storey: null }, check: { actual: 250.25, required: 7 }, ok: true }, label: 'PASS' },
];

describe('inferring a record schema', () => {
  const file = fileWith(records);
  const codec = inferCodec(readLabelledJsonl(file), file) as RecordCodec;

  it('a field per leaf path, typed by its values, optional where absent or null', () => {
    expect(codec.kind).toBe('record');
    const byPath = Object.fromEntries(codec.fields.map((f) => [f.path, f]));
    expect(Object.keys(byPath)).toEqual(['el.type', 'el.storey', 'check.actual', 'check.required', 'ok']);
    expect(byPath['el.type']).toEqual({ path: 'el.type', type: 'category', values: ['door', 'stair'] });
    expect(byPath['el.storey'].optional).toBe(true);
    expect(byPath.ok).toEqual({ path: 'ok', type: 'boolean' });
    expect(byPath['check.actual'].optional).toBeUndefined();
  });

  it('every number field shares the widest layout the data needs', () => {
    // 3 integer digits (250), 2 decimals (250.25), signed (-3): [-999.99, 999.99].
    for (const f of codec.fields.filter((f) => f.type === 'number')) {
      expect(f).toMatchObject({ min: -999.99, max: 999.99, decimals: 2 });
    }
    expect(codec.describe().join('\n')).toContain('check.actual: number in [-999.99, 999.99], 2 decimal(s), 6 digit tokens');
  });

  it('a class label: the classes seen, sorted; the training data encodes', () => {
    expect(codec.labels.spec).toEqual({ kind: 'class', classes: ['FAIL', 'PASS'] });
    const { examples, notes } = encodeDataset(codec, readLabelledJsonl(file), file);
    expect(examples).toHaveLength(3);
    expect(notes.size).toBe(0);
    expect(codec.decodeInput(examples[0].inputs)).toEqual(records[0].input);
  });

  it('held-out data with an unseen category is encoded as UNK and counted per field', () => {
    const held = fileWith([records[0], { ...records[1], input: { ...records[1].input, el: { type: 'ramp' } } }, { ...records[1], input: { ...records[1].input, el: { type: 'ramp' } } }]);
    const { notes } = encodeDataset(codec, readLabelledJsonl(held), held);
    expect(notes.get('input.el.type')).toEqual({ kind: 'unknown', count: 2, lines: [2, 3] });
  });

  it('held-out data the codec cannot take is a DatasetError with the line and field', () => {
    const held = fileWith([records[0], records[1], { ...records[0], input: { ...records[0].input, check: { actual: 1000, required: 1 } } }]);
    const e = datasetError(() => encodeDataset(codec, readLabelledJsonl(held), held));
    expect(e.line).toBe(3);
    expect(e.field).toBe('input.check.actual');
    expect(e.message).toMatch(/^line 3: input\.check\.actual: number out of range/);
    const badLabel = fileWith([records[0], { ...records[0], label: 'MAYBE' }]);
    expect(datasetError(() => encodeDataset(codec, readLabelledJsonl(badLabel), badLabel))).toMatchObject({ line: 2, field: 'label' });
  });
});

describe('inferring labels and text', () => {
  it('an object label is several label fields; a list label is a multi-label list', () => {
    const fields = fileWith([{ input: { a: 1 }, label: { status: 'PASS', rule: { id: 'none' } } }, { input: { a: 2 }, label: { status: 'FAIL', rule: { id: 'R1' } } }]);
    expect(inferCodec(readLabelledJsonl(fields), fields).labels.spec).toEqual({
      kind: 'fields', fields: [{ path: 'status', classes: ['FAIL', 'PASS'] }, { path: 'rule.id', classes: ['R1', 'none'] }],
    });
    const list = fileWith([{ input: 'x and y', label: ['b', 'a'] }, { input: 'x', label: ['c'] }]);
    const codec = inferCodec(readLabelledJsonl(list), list) as TextCodec;
    expect(codec.labels.spec).toEqual({ kind: 'list', classes: ['a', 'b', 'c'], maxItems: 2 });
  });

  it('text: the longest training text in bytes, rounded up to 8, lower-cased', () => {
    const file = fileWith([{ input: 'x'.repeat(17), label: 1 }, { input: 'é', label: 2 }]);
    const codec = inferCodec(readLabelledJsonl(file), file) as TextCodec;
    expect(codec.toJSON()).toMatchObject({ kind: 'text', encoding: 'utf8-bytes', maxLength: 24, lowercase: true, label: { kind: 'class', classes: [1, 2] } });
  });
});

describe('malformed lines are DatasetErrors with line and field', () => {
  const cases: Array<[string, Array<unknown | string>, number, string, RegExp]> = [
    ['not JSON', [records[0], '{"input": '], 2, 'line', /not valid JSON/],
    ['not an object', [records[0], '[1, 2]'], 2, 'line', /not a JSON object/],
    ['no input', [records[0], { label: 'PASS' }], 2, 'input', /missing field/],
    ['no label', [records[0], { input: { a: 1 } }], 2, 'label', /missing field/],
    ['an unknown key', [{ ...records[0], weight: 2 }], 1, 'weight', /unknown field/],
    ['a number input', [{ input: 5, label: 'a' }], 1, 'input', /neither a record nor a text/],
  ];
  for (const [what, lines, line, field, message] of cases) {
    it(what, () => {
      const file = fileWith(lines);
      const e = datasetError(() => readLabelledJsonl(file));
      expect(e).toMatchObject({ line, field, file });
      expect(e.message).toMatch(message);
    });
  }

  const inferCases: Array<[string, Array<unknown>, number | undefined, string, RegExp]> = [
    ['a field that changes type', [records[0], { ...records[1], input: { ...records[1].input, ok: 'yes' } }], 2, 'input.ok', /boolean on line 1 and a category here/],
    ['a list field', [{ input: { a: [1, 2] }, label: 'x' }], 1, 'input.a', /lists are not fields/],
    ['records and texts mixed', [records[0], { input: 'text', label: 'PASS' }], 2, 'input', /mix records and texts/],
    ['label shapes mixed', [records[0], { ...records[1], label: ['PASS'] }], 2, 'label', /mix shapes/],
    ['a label field missing', [{ input: { a: 1 }, label: { s: 'x', r: 'y' } }, { input: { a: 1 }, label: { s: 'x' } }], 2, 'label.r', /label field is missing/],
    ['an object class', [{ input: 'a', label: [{ k: 1 }] }], 1, 'label[0]', /not a string, a number or a boolean/],
    ['a dotted key', [{ input: { 'a.b': 1 }, label: 'x' }], 1, 'input', /has a dot in it/],
    ['a field null everywhere', [{ input: { a: null, b: 1 }, label: 'x' }], 1, 'input.a', /null on every line/],
  ];
  for (const [what, lines, line, field, message] of inferCases) {
    it(`inference: ${what}`, () => {
      const file = fileWith(lines);
      const e = datasetError(() => inferCodec(readLabelledJsonl(file), file));
      expect(e.line).toBe(line);
      expect(e.field).toBe(field);
      expect(e.message).toMatch(message);
    });
  }

  it('an empty file, and telling labelled files from token files', () => {
    const empty = fileWith(['']);
    expect(datasetError(() => readLabelledJsonl(empty)).message).toMatch(/no examples/);
    expect(isLabelledDataset(fileWith(records))).toBe(true);
    expect(isLabelledDataset(fileWith([{ inputs: [1], labels: [1] }]))).toBe(false);
    expect(isLabelledDataset(fileWith(['not json']))).toBe(false);
  });
});
