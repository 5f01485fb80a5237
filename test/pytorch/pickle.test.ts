/**
 * The restricted pickle machine on pickles written by CPython's own pickle module
 * (test/fixtures/pickles, made by make.py there): one plain object at every protocol 0 to 5
 * reads back the same, shared references included; the builtins that Python 3 writes as
 * calls to globals at protocol 2 (a set, bytes) are refused like any other global.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../lib/errors';
import { PicklePolicy, PyDict, PyList, PySet, PyTuple, PyValue, unpickle } from '../../lib/model/pytorch/pickle';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'pickles');

/** Nothing allowed: plain data only. */
const PLAIN: PicklePolicy = {
  resolveGlobal: () => undefined,
  persistentLoad: () => { throw new ModelFormatError('no persistent ids here'); },
};

/** A comparable JS shape: dicts as objects keyed by their Python repr-ish key, tuples and sets tagged. */
function toJs(v: PyValue): unknown {
  if (v instanceof PyList) return v.items.map(toJs);
  if (v instanceof PyTuple) return { tuple: v.items.map(toJs) };
  if (v instanceof PySet) return { [v.frozen ? 'frozenset' : 'set']: v.items.map(toJs) };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (v instanceof PyDict) {
    const out: Record<string, unknown> = {};
    for (const [k, value] of v.entries) out[typeof k === 'string' ? k : JSON.stringify(toJs(k))] = toJs(value);
    return out;
  }
  return v;
}

const EXPECTED = {
  ints: [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2n ** 70n, -(2n ** 70n)],
  floats: [3.5, -0, 1e300],
  none: null,
  bools: { tuple: [true, false] },
  text: ['h\u00e9llo \u2603', 'x'.repeat(300), ''],
  tuples: [{ tuple: [] }, { tuple: [1] }, { tuple: [1, 2] }, { tuple: [1, 2, 3] }, { tuple: [1, 2, 3, 4] }],
  shared: { tuple: [[7, 8], [7, 8]] },
  nested: { k: { 1: 'one', [JSON.stringify({ tuple: [2, 3] })]: 'pair' } },
};

function read(name: string): PyValue {
  return unpickle(fs.readFileSync(path.join(FIXTURES, name)), PLAIN, name);
}

describe('pickles from CPython', () => {
  it.each([0, 1, 2, 3, 4, 5])('protocol %i reads back the object', (protocol) => {
    const v = read(`plain-p${protocol}.pkl`);
    const expected: Record<string, unknown> = { ...EXPECTED };
    if (protocol >= 3) expected.bytes = [{ bytes: '0001ff' }, { bytes: '79'.repeat(300) }];
    if (protocol >= 4) expected.sets = { tuple: [{ set: [1] }, { frozenset: [2] }] };
    expect(toJs(v)).toEqual(expected);
    // The memo keeps Python's sharing: both entries are one list.
    const shared = (v as PyDict).entries.get('shared') as PyTuple;
    expect(shared.items[0]).toBe(shared.items[1]);
  });

  it.each([['set-p2.pkl', '__builtin__.set'], ['bytes-p2.pkl', '_codecs.encode']])('%s: its builtin is a call to %s, refused', (file, global) => {
    expect(() => read(file)).toThrow(ModelFormatError);
    try { read(file); } catch (e) { expect((e as ModelFormatError).value).toBe(global); }
  });

  it('cut anywhere, every protocol fails as a ModelFormatError', () => {
    for (let protocol = 0; protocol <= 5; protocol++) {
      const bytes = fs.readFileSync(path.join(FIXTURES, `plain-p${protocol}.pkl`));
      for (let n = 0; n < bytes.length; n++) expect(() => unpickle(bytes.subarray(0, n), PLAIN)).toThrow(ModelFormatError);
    }
  });
});
