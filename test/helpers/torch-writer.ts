/**
 * A writer of PyTorch-format checkpoints, for tests only: no Python torch is installed here
 * (`python3 -c "import torch"` fails), so the cases the official fixtures do not cover
 * (views, storage offsets, F16, large puzzle tables, ZIP64, protocol 4) and the malformed
 * files are built by this code, following the layout `torch.save` writes: a zip of
 * `<stem>/data.pkl` (an OrderedDict of `_rebuild_tensor_v2` calls over persistent storage
 * ids), `<stem>/byteorder`, `<stem>/data/<key>` (stored, 64-byte aligned) and `<stem>/version`.
 * Files made here say so in the test that uses them.
 */
import { crc32 } from '../../lib/model/pytorch/zip';

/** Low-level pickle opcodes, protocol 0 to 4: enough to write a state_dict or a hostile pickle. */
export class PickleWriter {
  private readonly bytes: number[] = [];

  raw(...b: number[]): this { this.bytes.push(...b); return this; }
  proto(n: number): this { return this.raw(0x80, n); }
  mark(): this { return this.raw(0x28); }
  stop(): this { return this.raw(0x2e); }
  /** GLOBAL "module\nname\n" (protocol 0 to 3). */
  global(module: string, name: string): this { return this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')); }
  /** STACK_GLOBAL (protocol 4) from two strings. */
  stackGlobal(module: string, name: string): this { return this.str(module).str(name).raw(0x93); }
  str(s: string, short = false): this {
    const b = Buffer.from(s, 'utf8');
    if (short && b.length < 256) return this.raw(0x8c, b.length, ...b);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.raw(0x58, ...len, ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return this.raw(0x4a, ...b);
    }
    // LONG1, little-endian two's complement, as pickle writes ints past 32 bits.
    let v = BigInt(n);
    const out: number[] = [];
    while (v !== 0n && v !== -1n) { out.push(Number(v & 0xffn)); v >>= 8n; }
    if (out.length === 0 || (n >= 0) !== ((out[out.length - 1] & 0x80) === 0)) out.push(n >= 0 ? 0 : 0xff);
    return this.raw(0x8a, out.length, ...out);
  }
  bool(v: boolean): this { return this.raw(v ? 0x88 : 0x89); }
  none(): this { return this.raw(0x4e); }
  emptyTuple(): this { return this.raw(0x29); }
  tuple(): this { return this.raw(0x74); }
  tupleOf(items: number[]): this {
    if (items.length === 0) return this.emptyTuple();
    if (items.length <= 3) { for (const i of items) this.int(i); return this.raw(0x84 + items.length); }
    this.mark();
    for (const i of items) this.int(i);
    return this.tuple();
  }
  emptyDict(): this { return this.raw(0x7d); }
  reduce(): this { return this.raw(0x52); }
  build(): this { return this.raw(0x62); }
  binpersid(): this { return this.raw(0x51); }
  setitems(): this { return this.raw(0x75); }
  binput(i: number): this { return this.raw(0x71, i); }
  binget(i: number): this { return this.raw(0x68, i); }
  memoize(): this { return this.raw(0x94); }
  toBuffer(): Buffer { return Buffer.from(this.bytes); }
}

export type StorageKind = 'FloatStorage' | 'BFloat16Storage' | 'HalfStorage' | 'DoubleStorage' | 'LongStorage' | string;

export interface TensorEntry {
  name: string;
  storage: { kind: StorageKind; key: string; numel: number };
  offset: number;
  shape: number[];
  stride: number[];
  /** Wrap in torch._utils._rebuild_parameter, as saving nn.Parameters does. */
  parameter?: boolean;
}

export interface StateDictPickleOptions {
  /** 2 (torch.save's default: GLOBAL, BINUNICODE, BINPUT) or 4 (FRAME, STACK_GLOBAL, MEMOIZE). */
  protocol?: 2 | 4;
  /** Add the `_metadata` attribute through BUILD, as a real state_dict carries. Default true. */
  metadata?: boolean;
}

/** The pickle torch.save writes for a state_dict of `entries`. */
export function stateDictPickle(entries: TensorEntry[], options: StateDictPickleOptions = {}): Buffer {
  const p4 = options.protocol === 4;
  const w = new PickleWriter();
  const global = (module: string, name: string): PickleWriter => (p4 ? w.stackGlobal(module, name) : w.global(module, name));
  w.proto(p4 ? 4 : 2);
  // Memo slot 0: OrderedDict, reused for every tensor's empty backward_hooks as torch's pickler does.
  global('collections', 'OrderedDict');
  if (p4) w.memoize(); else w.binput(0);
  w.emptyTuple().reduce();
  w.mark();
  for (const e of entries) {
    w.str(e.name, p4);
    if (e.parameter) global('torch._utils', '_rebuild_parameter');
    global('torch._utils', '_rebuild_tensor_v2');
    w.mark();
    w.mark().str('storage', p4);
    global('torch', e.storage.kind);
    w.str(e.storage.key, p4).str('cpu', p4).int(e.storage.numel).tuple().binpersid();
    w.int(e.offset).tupleOf(e.shape).tupleOf(e.stride).bool(false);
    w.binget(0).emptyTuple().reduce();
    w.tuple().reduce();
    if (e.parameter) {
      w.bool(true).binget(0).emptyTuple().reduce();
      w.raw(0x87).reduce(); // TUPLE3 (tensor, requires_grad, hooks)
    }
  }
  w.setitems();
  if (options.metadata !== false) {
    w.emptyDict().str('_metadata', p4).binget(0).emptyTuple().reduce();
    w.mark().str('', p4).emptyDict().str('version', p4).int(1).raw(0x73).setitems();
    w.raw(0x73).build();
  }
  w.stop();
  const body = w.toBuffer();
  if (!p4) return body;
  // A protocol-4 stream puts its opcodes after PROTO in FRAMEs.
  const frameLength = Buffer.alloc(8);
  frameLength.writeBigUInt64LE(BigInt(body.length - 2));
  return Buffer.concat([body.subarray(0, 2), Buffer.from([0x95]), frameLength, body.subarray(2)]);
}

export interface ZipFile {
  name: string;
  data: Buffer;
}

export interface ZipOptions {
  /** Write ZIP64 records (extra fields, the ZIP64 end record and locator) even for a small archive. */
  zip64?: boolean;
  /** Compression method to claim (data is still written as is): to test the refusal of compressed entries. */
  method?: number;
}

/**
 * A zip archive as torch's writer lays it out: stored entries, each local header padded with
 * an extra field so the data starts 64-byte aligned. Returns the parts, so large files need
 * not be joined in memory (write them in order).
 */
export function zipParts(files: ZipFile[], options: ZipOptions = {}): Buffer[] {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const zip64 = options.zip64 === true;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const crc = crc32(f.data);
    const z64 = zip64 ? Buffer.alloc(4 + 16) : Buffer.alloc(0);
    if (zip64) {
      z64.writeUInt16LE(0x0001, 0); z64.writeUInt16LE(16, 2);
      z64.writeBigUInt64LE(BigInt(f.data.length), 4); z64.writeBigUInt64LE(BigInt(f.data.length), 12);
    }
    const unpadded = offset + 30 + name.length + z64.length;
    const padLength = (64 - ((unpadded + 4) % 64)) % 64;
    const pad = Buffer.alloc(4 + padLength);
    pad.writeUInt16LE(0x4246, 0); // torch's padding extra field id ("FB")
    pad.writeUInt16LE(padLength, 2);
    const extra = Buffer.concat([z64, pad]);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(zip64 ? 45 : 20, 4); local.writeUInt16LE(0, 6);
    local.writeUInt16LE(options.method ?? 0, 8); local.writeUInt32LE(0, 10); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(zip64 ? 0xffffffff : f.data.length, 18); local.writeUInt32LE(zip64 ? 0xffffffff : f.data.length, 22);
    local.writeUInt16LE(name.length, 26); local.writeUInt16LE(extra.length, 28);
    parts.push(local, name, extra, f.data);

    const cz64 = zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
    if (zip64) {
      cz64.writeUInt16LE(0x0001, 0); cz64.writeUInt16LE(24, 2);
      cz64.writeBigUInt64LE(BigInt(f.data.length), 4); cz64.writeBigUInt64LE(BigInt(f.data.length), 12);
      cz64.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(zip64 ? 45 : 20, 4); c.writeUInt16LE(zip64 ? 45 : 20, 6);
    c.writeUInt16LE(0, 8); c.writeUInt16LE(options.method ?? 0, 10); c.writeUInt32LE(0, 12); c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(zip64 ? 0xffffffff : f.data.length, 20); c.writeUInt32LE(zip64 ? 0xffffffff : f.data.length, 24);
    c.writeUInt16LE(name.length, 28); c.writeUInt16LE(cz64.length, 30); c.writeUInt16LE(0, 32);
    c.writeUInt16LE(0, 34); c.writeUInt16LE(0, 36); c.writeUInt32LE(0, 38); c.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, cz64);
    offset += local.length + name.length + extra.length + f.data.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  parts.push(...central);
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0); record.writeBigUInt64LE(44n, 4); record.writeUInt16LE(45, 12); record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(files.length), 24); record.writeBigUInt64LE(BigInt(files.length), 32);
    record.writeBigUInt64LE(BigInt(cdSize), 40); record.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0); locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8); locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : files.length, 8); eocd.writeUInt16LE(zip64 ? 0xffff : files.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cdSize, 12); eocd.writeUInt32LE(zip64 ? 0xffffffff : cdOffset, 16);
  parts.push(eocd);
  return parts;
}

export function zipBytes(files: ZipFile[], options: ZipOptions = {}): Buffer {
  return Buffer.concat(zipParts(files, options));
}

export interface CheckpointOptions extends ZipOptions {
  stem?: string;
  byteorder?: string | null;
  version?: string | null;
}

/** The records of a torch.save archive around `pickle` and the storage records, in torch's order. */
export function checkpointFiles(pickle: Buffer, records: Map<string, Buffer>, options: CheckpointOptions = {}): ZipFile[] {
  const stem = options.stem ?? 'archive';
  const files: ZipFile[] = [{ name: `${stem}/data.pkl`, data: pickle }];
  files.push({ name: `${stem}/.format_version`, data: Buffer.from('1') });
  files.push({ name: `${stem}/.storage_alignment`, data: Buffer.from('64') });
  if (options.byteorder !== null) files.push({ name: `${stem}/byteorder`, data: Buffer.from(options.byteorder ?? 'little') });
  for (const [key, data] of records) files.push({ name: `${stem}/data/${key}`, data });
  if (options.version !== null) files.push({ name: `${stem}/version`, data: Buffer.from(options.version ?? '3\n') });
  return files;
}

export function checkpointBytes(pickle: Buffer, records: Map<string, Buffer>, options: CheckpointOptions = {}): Buffer {
  return zipBytes(checkpointFiles(pickle, records, options), options);
}

/** Float32 values as the raw bytes of a FloatStorage. */
export function f32Bytes(values: ArrayLike<number>): Buffer {
  const a = Float32Array.from(values);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Raw 16-bit patterns (bf16 or f16 bits) as the bytes of a 2-byte storage. */
export function u16Bytes(bits: ArrayLike<number>): Buffer {
  const a = Uint16Array.from(bits);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** How a test lays a tensor out in its storage, to exercise the reader's view handling. */
export type Layout = 'contiguous' | 'offset' | 'strided' | 'shared';
export type StorageDType = 'F32' | 'BF16' | 'F16' | 'F64';

const KIND: Record<StorageDType, StorageKind> = { F32: 'FloatStorage', BF16: 'BFloat16Storage', F16: 'HalfStorage', F64: 'DoubleStorage' };
const ITEM: Record<StorageDType, number> = { F32: 4, BF16: 2, F16: 2, F64: 8 };

/**
 * Half-precision bits of a value that f16 holds exactly (the tests quantize to such values
 * first): written here, independently of the reader's own conversion.
 */
export function exactHalfBits(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  if (e < -14 || e > 15) throw new RangeError(`exactHalfBits: ${x} is outside the normal f16 range`);
  const mantissa = (a / 2 ** e - 1) * 1024;
  if (!Number.isInteger(mantissa)) throw new RangeError(`exactHalfBits: ${x} is not exact in f16`);
  return sign | ((e + 15) << 10) | mantissa;
}

function storageBytes(dtype: StorageDType, values: Float64Array): Buffer {
  const out = Buffer.alloc(values.length * ITEM[dtype]);
  for (let i = 0; i < values.length; i++) {
    switch (dtype) {
      case 'F32': out.writeFloatLE(values[i], i * 4); break;
      case 'F64': out.writeDoubleLE(values[i], i * 8); break;
      case 'F16': out.writeUInt16LE(exactHalfBits(values[i]), i * 2); break;
      case 'BF16': {
        const f = Buffer.alloc(4);
        f.writeFloatLE(values[i]);
        if (f.readUInt16LE(0) !== 0) throw new RangeError(`storageBytes: ${values[i]} is not exact in bf16`);
        out.writeUInt16LE(f.readUInt16LE(2), i * 2);
        break;
      }
    }
  }
  return out;
}

/** What `offset` and `strided` layouts put where no view looks: exact in every dtype, and outside the tests' weight range. */
export const PAD_VALUE = 3;

export interface ModelCheckpointOptions {
  /** Name prefix, e.g. '_orig_mod.model.' as a compiled official run saves. */
  prefix?: string;
  dtype?: StorageDType;
  layout?: (name: string) => Layout;
  protocol?: 2 | 4;
  parameters?: boolean;
}

/**
 * A checkpoint of `weights` (canonical names, row-major values) laid out as asked: `offset`
 * pads the storage on both sides, `strided` stores a 2-D tensor transposed (stride [1, rows])
 * and a 1-D one every other element, `shared` puts every such tensor in one storage at its
 * own offset. Values must be exact in `dtype`.
 */
export function modelCheckpoint(weights: Record<string, Float32Array>, shapes: Record<string, number[]>, options: ModelCheckpointOptions = {}): Buffer {
  const dtype = options.dtype ?? 'F32';
  const entries: TensorEntry[] = [];
  const records = new Map<string, Buffer>();
  const shared: number[] = [];
  let key = 0;
  for (const [name, values] of Object.entries(weights)) {
    const shape = shapes[name];
    const layout = options.layout?.(name) ?? 'contiguous';
    const n = values.length;
    const rowMajor = shape.length === 2 ? [shape[1], 1] : [1];
    const entry = (storageKey: string, numel: number, offset: number, stride: number[]): void => {
      entries.push({ name: (options.prefix ?? '') + name, storage: { kind: KIND[dtype], key: storageKey, numel }, offset, shape, stride, parameter: options.parameters });
    };
    if (layout === 'shared') {
      entry('shared', -1, shared.length, rowMajor);
      shared.push(...values, 0.25, 0.5, 0.75); // a gap the view must not read
      continue;
    }
    const k = String(key++);
    if (layout === 'contiguous') {
      records.set(k, storageBytes(dtype, Float64Array.from(values)));
      entry(k, n, 0, rowMajor);
    } else if (layout === 'offset') {
      const pad = 5;
      const data = new Float64Array(n + 2 * pad).fill(PAD_VALUE);
      data.set(values, pad);
      records.set(k, storageBytes(dtype, data));
      entry(k, data.length, pad, rowMajor);
    } else if (shape.length === 2) {
      const [rows, cols] = shape;
      const data = new Float64Array(n);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[j * rows + i] = values[i * cols + j];
      records.set(k, storageBytes(dtype, data));
      entry(k, n, 0, [1, rows]);
    } else {
      const data = new Float64Array(2 * n).fill(-PAD_VALUE);
      for (let i = 0; i < n; i++) data[2 * i] = values[i];
      records.set(k, storageBytes(dtype, data));
      entry(k, data.length, 0, [2]);
    }
  }
  if (shared.length > 0) {
    records.set('shared', storageBytes(dtype, Float64Array.from(shared)));
    for (const e of entries) if (e.storage.key === 'shared') e.storage.numel = shared.length;
  }
  return checkpointBytes(stateDictPickle(entries, { protocol: options.protocol }), records);
}
