/**
 * A safetensors reader and writer (https://github.com/huggingface/safetensors format):
 * an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
 * and byte range, then the raw little-endian data. Every header field is checked against
 * the file before any byte is read, so a truncated or lying file gives a ModelFormatError
 * rather than garbage weights.
 */
import * as fs from 'node:fs';
import { ModelFormatError } from '../errors';
import { writeFileAtomic } from '../util/write-file-atomic';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const ITEM_SIZE: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Headers larger than this are not model headers; refuse before allocating for them. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Offset of the tensor's first byte in the whole file. */
  byteOffset: number;
  byteLength: number;
}

function fail(file: string, message: string, field?: string, value?: unknown, expected?: string): never {
  throw new ModelFormatError(message, { file, field, value, expected });
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function bf16ToFloat32(bits: number): number {
  const buf = new Uint32Array([bits << 16]);
  return new Float32Array(buf.buffer)[0];
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half to float, exact for every input including subnormals, inf and NaN. */
export function f16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round-to-nearest-even float32 -> bf16 bits (NaN stays NaN). */
export function float32ToBf16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return 0x7fc0;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export class SafetensorsFile {
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;

  constructor(readonly file: string, private readonly bytes: Buffer, tensors: Map<string, TensorInfo>, metadata: Record<string, string>) {
    this.tensors = tensors;
    this.metadata = metadata;
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) fail(this.file, 'tensor not found', name, undefined, 'a tensor of that name in the file');
    return t;
  }

  private view(t: TensorInfo): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + t.byteOffset, t.byteLength);
  }

  /** The tensor's stored bytes, little-endian, as the file holds them (a view, not a copy). */
  bytesOf(name: string): Uint8Array {
    const t = this.info(name);
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + t.byteOffset, t.byteLength);
  }

  /** The tensor as float32, converting BF16, F16 and F64 (F64 rounds to nearest). */
  toFloat32(name: string): Float32Array {
    const t = this.info(name);
    const n = elementCount(t.shape);
    const v = this.view(t);
    const out = new Float32Array(n);
    switch (t.dtype) {
      case 'F32': for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true); break;
      case 'BF16': for (let i = 0; i < n; i++) out[i] = bf16ToFloat32(v.getUint16(i * 2, true)); break;
      case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToFloat32(v.getUint16(i * 2, true)); break;
      case 'F64': for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true); break;
      default: fail(this.file, 'tensor is not floating point', name, t.dtype, 'F32, BF16, F16 or F64');
    }
    return out;
  }

  toFloat64(name: string): Float64Array {
    const t = this.info(name);
    if (t.dtype === 'F64') {
      const v = this.view(t);
      const out = new Float64Array(elementCount(t.shape));
      for (let i = 0; i < out.length; i++) out[i] = v.getFloat64(i * 8, true);
      return out;
    }
    return Float64Array.from(this.toFloat32(name));
  }

  /** The tensor as int32; I64 values outside the int32 range are an error, not a wrap. */
  toInt32(name: string): Int32Array {
    const t = this.info(name);
    const n = elementCount(t.shape);
    const v = this.view(t);
    const out = new Int32Array(n);
    switch (t.dtype) {
      case 'I32': for (let i = 0; i < n; i++) out[i] = v.getInt32(i * 4, true); break;
      case 'I64':
        for (let i = 0; i < n; i++) {
          const x = v.getBigInt64(i * 8, true);
          if (x < -2147483648n || x > 2147483647n) fail(this.file, 'int64 value out of int32 range', name, x, 'a value in [-2^31, 2^31)');
          out[i] = Number(x);
        }
        break;
      case 'I16': for (let i = 0; i < n; i++) out[i] = v.getInt16(i * 2, true); break;
      case 'I8': for (let i = 0; i < n; i++) out[i] = v.getInt8(i); break;
      case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = v.getUint8(i); break;
      default: fail(this.file, 'tensor is not an integer tensor', name, t.dtype, 'I64, I32, I16, I8, U8 or BOOL');
    }
    return out;
  }
}

/** Parses a whole safetensors file held in memory. `file` only labels errors. */
export function parseSafetensors(bytes: Buffer, file = '<buffer>'): SafetensorsFile {
  if (bytes.length < 8) fail(file, 'file too short for a safetensors header', 'header length', bytes.length, 'at least 8 bytes');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    fail(file, 'safetensors header length is beyond the file (truncated or not a safetensors file)', 'header length', headerLength,
      `at most ${Math.min(bytes.length - 8, MAX_HEADER_BYTES)} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (e) {
    fail(file, `safetensors header is not valid JSON (${(e as Error).message})`, 'header');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(file, 'safetensors header is not a JSON object', 'header', header);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) fail(file, 'tensor entry is not an object', name, entry);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    // hasOwn, not `in`: `"toString" in ITEM_SIZE` is true and would pass as a dtype.
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(ITEM_SIZE, dtype)) {
      fail(file, 'unsupported tensor dtype', `${name}.dtype`, dtype, Object.keys(ITEM_SIZE).join(', '));
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, 'tensor shape is not a list of non-negative integers', `${name}.shape`, shape);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail(file, 'tensor data_offsets is not [begin, end] with 0 <= begin <= end', `${name}.data_offsets`, offsets);
    }
    const [begin, end] = offsets as [number, number];
    const expectedBytes = elementCount(shape as number[]) * ITEM_SIZE[dtype as SafetensorsDType];
    if (end - begin !== expectedBytes) {
      fail(file, 'tensor byte range does not match its shape and dtype', `${name}.data_offsets`, offsets,
        `${expectedBytes} bytes for ${dtype}${JSON.stringify(shape)}`);
    }
    if (end > dataLength) {
      fail(file, 'tensor data lies beyond the end of the file (truncated file?)', `${name}.data_offsets`, offsets,
        `end <= ${dataLength}`);
    }
    ranges.push([begin, end, name]);
    tensors.set(name, { name, dtype: dtype as SafetensorsDType, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      fail(file, 'tensor byte ranges overlap', ranges[i][2], ranges[i][0], `begin >= ${ranges[i - 1][1]} (end of ${ranges[i - 1][2]})`);
    }
  }
  return new SafetensorsFile(file, bytes, tensors, metadata);
}

export function readSafetensors(file: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new ModelFormatError(`cannot read safetensors file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  return parseSafetensors(bytes, file);
}

export type TensorToWrite = {
  dtype: SafetensorsDType;
  shape: number[];
} & (
  | { data: Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array | BigInt64Array }
  /** Stored bytes of that dtype, little-endian (e.g. `bytesOf` of another file): copied unchanged. */
  | { bytes: Uint8Array }
);

/** Encodes tensors. BF16 accepts Float32Array data (rounded to nearest even) or raw Uint16Array bits. */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Buffer {
  return Buffer.concat(encodeSafetensorsParts(tensors, metadata));
}

/**
 * The file as a list of parts (the header, then each tensor's bytes): F32 and raw tensors are
 * views of the caller's arrays, not copies, so a large model is written without a second copy in memory.
 */
function encodeSafetensorsParts(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Buffer[] {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = elementCount(t.shape);
    let bytes: Buffer;
    if ('bytes' in t) {
      if (t.bytes.byteLength !== n * ITEM_SIZE[t.dtype]) {
        throw new RangeError(`tensor ${name}: ${t.bytes.byteLength} bytes, ${t.dtype}${JSON.stringify(t.shape)} needs ${n * ITEM_SIZE[t.dtype]}`);
      }
      bytes = Buffer.from(t.bytes);
    } else if (t.data.length !== n) {
      throw new RangeError(`tensor ${name}: data has ${t.data.length} elements, shape ${JSON.stringify(t.shape)} needs ${n}`);
    } else if (t.dtype === 'BF16' && t.data instanceof Float32Array) {
      const bits = new Uint16Array(n);
      for (let i = 0; i < n; i++) bits[i] = float32ToBf16(t.data[i]);
      bytes = Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
    } else {
      if (t.data.BYTES_PER_ELEMENT !== ITEM_SIZE[t.dtype]) {
        throw new RangeError(`tensor ${name}: ${t.data.constructor.name} does not hold ${t.dtype}`);
      }
      bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // The data section starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return [head, Buffer.from(json, 'utf8'), ...chunks];
}

/** Writes atomically: a crash mid-write leaves the old file (or none), never a torn one. */
export function writeSafetensors(file: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensorsParts(tensors, metadata));
}
