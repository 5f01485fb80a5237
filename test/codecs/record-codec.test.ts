/**
 * Record codecs: records and labels survive a round trip through tokens; numbers are aligned
 * fixed-point digits; unknown categories become UNK and are reported; absent optional fields
 * are MISSING; every input the codec cannot take is an InputError naming the field, and every
 * bad codec.json a ModelFormatError naming the key.
 */
import { describe, expect, it } from 'vitest';
import { IGNORE_LABEL, InputError, ModelFormatError, encodeExample, parseCodec } from '../../lib/index';
import type { RecordCodec } from '../../lib/index';
import { MISSING, NONE, QUERY, UNK } from '../../lib/codecs/tokens';

const codecJson = {
  format: 'trm-codec/1',
  kind: 'record',
  fields: [
    { path: 'element.type', type: 'category', values: ['door', 'stair'] },
    { path: 'element.rated', type: 'boolean', optional: true },
    { path: 'check.actual', type: 'number', min: 0, max: 999.9, decimals: 1 },
    { path: 'check.required', type: 'number', min: 0, max: 999.9, decimals: 1 },
    { path: 'offset', type: 'number', min: -99, max: 99, decimals: 0, optional: true },
  ],
  label: { kind: 'fields', fields: [{ path: 'status', classes: ['FAIL', 'PASS'] }, { path: 'rule', classes: ['none', 'R1', 7] }] },
};
const codec = parseCodec(codecJson) as RecordCodec;

const record = { element: { type: 'stair', rated: true }, check: { actual: 81.5, required: 85 }, offset: -7 };

describe('layout', () => {
  it('fields take their positions in schema order, then one slot per label field', () => {
    // type 1 + rated 1 + actual 4 + required 4 + offset (sign + 2) 3, then 2 label slots.
    expect(codec.seqLen).toBe(1 + 1 + 4 + 4 + 3 + 2);
    expect(codec.labels.slots.map((s) => [s.name, s.position])).toEqual([['status', 13], ['rule', 14]]);
    expect(codec.vocabSize).toBe(codec.tokenNames.length);
  });

  it('two numbers of one layout are aligned digit tokens', () => {
    const { inputs } = codec.encodeInput(record);
    const digit = (d: number) => codec.tokenNames.indexOf(String(d));
    expect(Array.from(inputs.subarray(2, 6))).toEqual([0, 8, 1, 5].map(digit));
    expect(Array.from(inputs.subarray(6, 10))).toEqual([0, 8, 5, 0].map(digit));
    expect(codec.tokenNames[inputs[10]]).toBe('-');
    expect(Array.from(inputs.subarray(11, 13))).toEqual([0, 7].map(digit));
    expect(inputs[13]).toBe(QUERY);
    expect(inputs[14]).toBe(QUERY);
  });
});

describe('round trips', () => {
  it('a record comes back from its tokens', () => {
    expect(codec.decodeInput(codec.encodeInput(record).inputs)).toEqual(record);
    const edge = { element: { type: 'door' }, check: { actual: 999.9, required: 0 }, offset: 99 };
    expect(codec.decodeInput(codec.encodeInput(edge).inputs)).toEqual(edge);
    const negative = { element: { type: 'door', rated: false }, check: { actual: 0.1, required: 0.3 }, offset: -99 };
    expect(codec.decodeInput(codec.encodeInput(negative).inputs)).toEqual(negative);
  });

  it('labels come back from their tokens, classes keeping their JSON type', () => {
    for (const label of [{ status: 'FAIL', rule: 'R1' }, { status: 'PASS', rule: 'none' }, { status: 'FAIL', rule: 7 }]) {
      const { example } = encodeExample(codec, record, label);
      expect(example.labels.filter((l) => l !== IGNORE_LABEL)).toHaveLength(2);
      expect(codec.labels.decode(example.labels)).toEqual(label);
    }
  });

  it('absent and null optional fields are MISSING and come back absent', () => {
    const { inputs, notes } = codec.encodeInput({ element: { type: 'door', rated: null }, check: { actual: 1, required: 2 } });
    expect(inputs[1]).toBe(MISSING);
    expect(inputs[10]).toBe(MISSING);
    expect(notes).toEqual([]);
    expect(codec.decodeInput(inputs)).toEqual({ element: { type: 'door' }, check: { actual: 1, required: 2 } });
  });
});

describe('unknown values', () => {
  it('a category value training never had is UNK, and the encoding says so', () => {
    const { inputs, notes } = codec.encodeInput({ ...record, element: { type: 'ramp' } });
    expect(inputs[0]).toBe(UNK);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ kind: 'unknown', field: 'input.element.type', value: 'ramp' });
    expect(notes[0].message).toContain('UNK');
  });
});

describe('errors name the field', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['out of range', { ...record, check: { actual: 1000, required: 1 } }, 'input.check.actual', /out of range/],
    ['below the range', { ...record, offset: -100 }, 'input.offset', /out of range/],
    ['too many decimals', { ...record, check: { actual: 81.25, required: 1 } }, 'input.check.actual', /more decimals/],
    ['a string for a number', { ...record, check: { actual: '81', required: 1 } }, 'input.check.actual', /not a number/],
    ['a missing required field', { element: { type: 'door' }, check: { actual: 1 } }, 'input.check.required', /missing field/],
    ['a field the schema lacks', { ...record, extra: 1 }, 'input.extra', /schema does not have/],
    ['a number for a boolean', { ...record, element: { type: 'door', rated: 1 } }, 'input.element.rated', /not a boolean/],
    ['an object for a category', { ...record, element: { type: ['door'] } }, 'input.element.type', /not a category/],
    ['not a record', 'door', 'input', /not a record/],
  ];
  for (const [what, input, field, message] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        codec.encodeInput(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe(field);
      expect((error as InputError).message).toMatch(message);
      expect((error as InputError).expected).toBeTruthy();
    });
  }

  it('a label outside the classes, or with a field too many', () => {
    expect(() => encodeExample(codec, record, { status: 'MAYBE', rule: 'R1' })).toThrow(/label\.status.*"FAIL", "PASS"/);
    expect(() => encodeExample(codec, record, { status: 'FAIL', rule: '7' })).toThrow(/label\.rule/); // "7" is not 7
    expect(() => encodeExample(codec, record, { status: 'FAIL', rule: 'R1', why: 'x' })).toThrow(/unknown label field; field: label\.why/);
    expect(() => encodeExample(codec, record, 'FAIL')).toThrow(/not an object of label fields/);
  });

  it('a token a slot cannot hold does not decode', () => {
    const tokens = new Int32Array(codec.seqLen);
    tokens[13] = NONE;
    expect(() => codec.labels.decode(tokens)).toThrow(/not a label token of this slot; field: status/);
  });
});

describe('codec.json checks', () => {
  const broken = (change: (c: any) => void): unknown => {
    const c = JSON.parse(JSON.stringify(codecJson));
    change(c);
    return c;
  };
  const cases: Array<[string, unknown, string]> = [
    ['format', broken((c) => { c.format = 'x'; }), 'format'],
    ['kind', broken((c) => { c.kind = 'table'; }), 'kind'],
    ['field type', broken((c) => { c.fields[0].type = 'enum'; }), 'fields[0].type'],
    ['duplicate values', broken((c) => { c.fields[0].values = ['a', 'a']; }), 'fields[0].values'],
    ['max below min', broken((c) => { c.fields[2].max = -1; }), 'fields[2].max'],
    ['min with more decimals than the field', broken((c) => { c.fields[4].min = -0.5; }), 'fields[4].min'],
    ['a path inside another', broken((c) => { c.fields[1].path = 'element.type.x'; }), 'fields[1].path'],
    ['empty classes', broken((c) => { c.label.fields[0].classes = []; }), 'label.fields[0].classes'],
    ['label kind', broken((c) => { c.label.kind = 'many'; }), 'label.kind'],
    ['list size', { ...codecJson, label: { kind: 'list', classes: ['a'], maxItems: 0 } }, 'label.maxItems'],
  ];
  for (const [what, raw, field] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        parseCodec(raw, 'codec.json');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).field).toBe(field);
      expect((error as ModelFormatError).file).toBe('codec.json');
    });
  }

  it('toJSON gives back a codec with the same ids', () => {
    const again = parseCodec(JSON.parse(JSON.stringify(codec.toJSON())));
    expect(again.tokenNames).toEqual(codec.tokenNames);
    expect(Array.from(again.encodeInput(record).inputs)).toEqual(Array.from(codec.encodeInput(record).inputs));
  });
});
