/**
 * Text codecs: UTF-8 bytes in, the same text out; text past the maximum is cut at a
 * character boundary and reported; list labels (multi-intent) fill NONE after the last item.
 */
import { describe, expect, it } from 'vitest';
import { InputError, ModelFormatError, encodeExample, parseCodec } from '../../lib/index';
import type { TextCodec } from '../../lib/index';
import { NONE, PAD, QUERY } from '../../lib/codecs/tokens';

const codec = parseCodec({
  format: 'trm-codec/1', kind: 'text', encoding: 'utf8-bytes', maxLength: 12, lowercase: true,
  label: { kind: 'list', classes: ['alarm', 'weather'], maxItems: 2 },
}) as TextCodec;

describe('text codec', () => {
  it('bytes in, the same (lower-cased) text out; PAD after it, QUERY at the slots', () => {
    const { inputs, notes } = codec.encodeInput('Wake Me');
    expect(notes).toEqual([]);
    expect(codec.seqLen).toBe(14);
    expect(codec.decodeInput(inputs)).toBe('wake me');
    expect(inputs[7]).toBe(PAD);
    expect(Array.from(inputs.subarray(12))).toEqual([QUERY, QUERY]);
  });

  it('non-ASCII text takes one token per byte and comes back whole', () => {
    const { inputs } = codec.encodeInput('météo');
    expect(Array.from(inputs.subarray(0, 12)).filter((t) => t !== PAD)).toHaveLength(7);
    expect(codec.decodeInput(inputs)).toBe('météo');
  });

  it('long text is cut at a character boundary and reported', () => {
    // 'aaaaaaaaaaa' is 11 bytes; 'é' is 2, so byte 12 would split it.
    const { inputs, notes } = codec.encodeInput('aaaaaaaaaaaé and more');
    expect(codec.decodeInput(inputs)).toBe('aaaaaaaaaaa');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ kind: 'truncated', field: 'input', value: 22 });
    expect(notes[0].message).toContain('cut to the first 11');
  });

  it('list labels: in order, NONE after the last; decode drops the NONEs', () => {
    const one = encodeExample(codec, 'alarm', ['weather']).example.labels;
    expect(one[13]).toBe(NONE);
    expect(codec.labels.decode(one)).toEqual(['weather']);
    const two = encodeExample(codec, 'x', ['weather', 'alarm']).example.labels;
    expect(codec.labels.decode(two)).toEqual(['weather', 'alarm']);
  });

  it('bad inputs and labels are InputErrors naming the field', () => {
    expect(() => codec.encodeInput({ text: 'x' })).toThrow(InputError);
    expect(() => codec.encodeInput('')).toThrow(/empty; field: input/);
    expect(() => encodeExample(codec, 'x', [])).toThrow(/list of 1 to 2 classes/);
    expect(() => encodeExample(codec, 'x', ['alarm', 'alarm', 'alarm'])).toThrow(/list of 1 to 2 classes/);
    expect(() => encodeExample(codec, 'x', ['snooze'])).toThrow(/field: label\[0\]/);
  });

  it('a bad text codec.json names the key', () => {
    const base = { format: 'trm-codec/1', kind: 'text', encoding: 'utf8-bytes', maxLength: 8, label: { kind: 'class', classes: ['a'] } };
    expect(() => parseCodec({ ...base, encoding: 'words' })).toThrow(ModelFormatError);
    expect(() => parseCodec({ ...base, maxLength: 0 })).toThrow(/field: maxLength/);
    expect(() => parseCodec({ ...base, lowercase: 'yes' })).toThrow(/field: lowercase/);
  });
});
