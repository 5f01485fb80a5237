import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFormatError } from '../../lib/errors';
import {
  bf16ToFloat32, encodeSafetensors, f16ToFloat32, float32ToBf16, parseSafetensors, readSafetensors, writeSafetensors,
} from '../../lib/model/safetensors';
import { expectThrows } from '../helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-safetensors-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A file from a header (object, or raw text for the malformed cases) and a data section. */
function raw(header: unknown, data: Buffer = Buffer.alloc(0), headerLength?: number): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  return Buffer.concat([head, json, data]);
}

function parseError(bytes: Buffer): ModelFormatError {
  return expectThrows(() => parseSafetensors(bytes, 'test.safetensors'), ModelFormatError);
}

describe('safetensors round trip', () => {
  it('writes and reads F32, BF16, F16 and I32 tensors with metadata', () => {
    const f32 = Float32Array.from([0, -1.5, 3.25, 1e-30, -65504, 123456.789]);
    const bf16Source = Float32Array.from([1, -2, 0.1, 3.14159, -1e20, 7e-39]);
    const f16Bits = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]);
    const i32 = Int32Array.from([0, -1, 2147483647, -2147483648, 42, 7]);
    const file = path.join(tmp, 'round.safetensors');
    writeSafetensors(file, {
      a: { dtype: 'F32', shape: [2, 3], data: f32 },
      b: { dtype: 'BF16', shape: [6], data: bf16Source },
      c: { dtype: 'F16', shape: [2, 2], data: f16Bits },
      d: { dtype: 'I32', shape: [3, 2], data: i32 },
      scalar: { dtype: 'F32', shape: [], data: Float32Array.from([5]) },
    }, { format: 'pt' });
    const st = readSafetensors(file);
    expect(st.names().sort()).toEqual(['a', 'b', 'c', 'd', 'scalar']);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.info('a')).toMatchObject({ dtype: 'F32', shape: [2, 3] });
    expect(st.toFloat32('a')).toEqual(f32);
    expect(st.toFloat64('a')).toEqual(Float64Array.from(f32));
    expect(st.info('b').dtype).toBe('BF16');
    expect(Array.from(st.toFloat32('b'))).toEqual(Array.from(bf16Source, (x) => bf16ToFloat32(float32ToBf16(x))));
    expect(Array.from(st.toFloat32('c'))).toEqual([1, -2, 65504, 2 ** -24]);
    expect(st.toInt32('d')).toEqual(i32);
    expect(Array.from(st.toFloat32('scalar'))).toEqual([5]);
    // The data section starts 8-byte aligned, like the reference writer.
    expect(Number(fs.readFileSync(file).readBigUInt64LE(0)) % 8).toBe(0);
  });

  it('refuses to read an integer tensor as float and a float tensor as integer', () => {
    const st = parseSafetensors(encodeSafetensors({
      i: { dtype: 'I32', shape: [1], data: Int32Array.from([1]) },
      f: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
    }));
    expect(() => st.toFloat32('i')).toThrow(ModelFormatError);
    expect(() => st.toInt32('f')).toThrow(ModelFormatError);
    expect(() => st.info('nope')).toThrow(/tensor not found/);
  });
});

describe('half-precision conversions', () => {
  it('converts F16 bit patterns exactly, including subnormals, signed zero, inf and NaN', () => {
    expect(f16ToFloat32(0x3c00)).toBe(1);
    expect(f16ToFloat32(0xc000)).toBe(-2);
    expect(f16ToFloat32(0x3555)).toBe(0.333251953125);
    expect(f16ToFloat32(0x7bff)).toBe(65504);
    expect(f16ToFloat32(0x0400)).toBe(2 ** -14);
    expect(f16ToFloat32(0x0001)).toBe(2 ** -24);
    expect(f16ToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(f16ToFloat32(0x8000), -0)).toBe(true);
    expect(f16ToFloat32(0x7c00)).toBe(Infinity);
    expect(f16ToFloat32(0xfc00)).toBe(-Infinity);
    expect(f16ToFloat32(0x7e00)).toBeNaN();
  });

  it('converts BF16 exactly and rounds float32 to BF16 to nearest even', () => {
    expect(bf16ToFloat32(0x3f80)).toBe(1);
    expect(bf16ToFloat32(0xc040)).toBe(-3);
    expect(bf16ToFloat32(0x7f80)).toBe(Infinity);
    expect(bf16ToFloat32(0x0001)).toBe(2 ** -133);
    expect(float32ToBf16(1)).toBe(0x3f80);
    expect(float32ToBf16(-3)).toBe(0xc040);
    // 1 + 2^-8 lies halfway between 1 (even) and 1 + 2^-7: ties go to even.
    expect(float32ToBf16(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
    expect(float32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    // Just above half rounds up.
    expect(float32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(float32ToBf16(NaN)).toBe(0x7fc0);
    expect(float32ToBf16(Infinity)).toBe(0x7f80);
    // The largest finite float32 rounds past the largest bf16 to infinity, as torch does.
    expect(float32ToBf16(3.4028234663852886e38)).toBe(0x7f80);
    for (const x of [0.1, -7.25, 1e-20, 65504, 3.14159]) {
      const back = bf16ToFloat32(float32ToBf16(x));
      expect(Math.abs(back - x) / Math.abs(x)).toBeLessThanOrEqual(2 ** -9);
    }
  });
});

describe('corrupt safetensors files give ModelFormatError', () => {
  const valid = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } });

  it('file shorter than 8 bytes', () => {
    const e = parseError(Buffer.from([1, 2, 3]));
    expect(e.message).toMatch(/too short/);
    expect(e.file).toBe('test.safetensors');
    expect(e.value).toBe(3);
  });

  it('header length beyond the file', () => {
    const e = parseError(raw({}, Buffer.alloc(0), 1000));
    expect(e.message).toMatch(/header length is beyond the file/);
    expect(e.field).toBe('header length');
    expect(e.value).toBe(1000);
  });

  it('header length absurdly large (a text file, say)', () => {
    const e = parseError(Buffer.from('{"hello": "this is not safetensors"}'));
    expect(e.field).toBe('header length');
  });

  it('header not JSON', () => {
    const e = parseError(raw('{"w": {"dtype": "F32",'));
    expect(e.message).toMatch(/not valid JSON/);
    expect(e.field).toBe('header');
  });

  it('header not an object', () => {
    expect(parseError(raw('[1, 2, 3]')).message).toMatch(/not a JSON object/);
    expect(parseError(raw('42')).message).toMatch(/not a JSON object/);
    expect(parseError(raw('null')).message).toMatch(/not a JSON object/);
  });

  it('tensor entry not an object', () => {
    expect(parseError(raw({ w: 5 })).field).toBe('w');
  });

  it('unknown dtype', () => {
    const e = parseError(raw({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)));
    expect(e.message).toMatch(/unsupported tensor dtype/);
    expect(e.field).toBe('w.dtype');
    expect(e.value).toBe('F8_E4M3');
    expect(e.expected).toContain('BF16');
  });

  it('a dtype that is an Object.prototype member name', () => {
    const e = parseError(raw({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)));
    expect(e.message).toMatch(/unsupported tensor dtype/);
  });

  it('bad shape', () => {
    for (const shape of [[2, -1], [1.5], 'abc', [2, '3'], null]) {
      const e = parseError(raw({ w: { dtype: 'F32', shape, data_offsets: [0, 8] } }, Buffer.alloc(8)));
      expect(e.message).toMatch(/shape is not a list of non-negative integers/);
      expect(e.field).toBe('w.shape');
    }
  });

  it('bad data_offsets', () => {
    for (const offsets of [[8, 0], [0], 'x', [0, -4]]) {
      const e = parseError(raw({ w: { dtype: 'F32', shape: [1], data_offsets: offsets } }, Buffer.alloc(8)));
      expect(e.field).toBe('w.data_offsets');
    }
  });

  it('offsets not matching shape * itemsize', () => {
    const e = parseError(raw({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, Buffer.alloc(24)));
    expect(e.message).toMatch(/does not match its shape and dtype/);
    expect(e.field).toBe('w.data_offsets');
    expect(e.expected).toContain('24 bytes');
  });

  it('data beyond the end (a truncated valid file)', () => {
    const e = parseError(valid.subarray(0, valid.length - 4));
    expect(e.message).toMatch(/beyond the end of the file/);
    expect(e.field).toBe('w.data_offsets');
  });

  it('overlapping ranges', () => {
    const e = parseError(raw({
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
    }, Buffer.alloc(24)));
    expect(e.message).toMatch(/overlap/);
    expect(e.field).toBe('b');
  });

  it('a missing file', () => {
    expect(() => readSafetensors(path.join(tmp, 'nope.safetensors'))).toThrow(/cannot read safetensors file \(ENOENT\)/);
  });

  it('the valid file itself parses', () => {
    expect(Array.from(parseSafetensors(valid).toFloat32('w'))).toEqual([1, 2, 3, 4]);
  });
});
