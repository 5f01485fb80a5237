/**
 * A `torch.save(state_dict)` file read without Python: the zip records (`<stem>/data.pkl`,
 * `<stem>/data/<key>`, `<stem>/byteorder`, `<stem>/version`), the pickle run under a policy
 * that knows only what a state_dict holds, and each tensor read from its storage record by
 * offset when it is asked for (strides and storage offsets honoured, converted to float32).
 */
import * as os from 'node:os';
import { ModelFormatError } from '../../errors';
import { f16ToFloat32 } from '../safetensors';
import type { TensorSource } from '../weights';
import { ByteSource, readBytes } from './bytes';
import { PicklePolicy, PyDict, PyObject, PyTuple, PyValue, describePy, isPyObject, unpickle } from './pickle';
import { ZipArchive, ZipEntry } from './zip';

/** Storage classes `torch.save` names, with the safetensors dtype each holds and its item size. */
const STORAGE_TYPES: Record<string, { dtype: string; itemSize: number }> = {
  FloatStorage: { dtype: 'F32', itemSize: 4 },
  BFloat16Storage: { dtype: 'BF16', itemSize: 2 },
  HalfStorage: { dtype: 'F16', itemSize: 2 },
  DoubleStorage: { dtype: 'F64', itemSize: 8 },
  LongStorage: { dtype: 'I64', itemSize: 8 },
  IntStorage: { dtype: 'I32', itemSize: 4 },
  ShortStorage: { dtype: 'I16', itemSize: 2 },
  CharStorage: { dtype: 'I8', itemSize: 1 },
  ByteStorage: { dtype: 'U8', itemSize: 1 },
  BoolStorage: { dtype: 'BOOL', itemSize: 1 },
};

const FLOAT_DTYPES = new Set(['F32', 'BF16', 'F16', 'F64']);

/** `\x80\x02\x8a\x0a` + the legacy format's magic number 0x1950a86a20f9469cfc6c, as its first pickle starts. */
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

/** A state_dict's pickle holds names and sizes, a few KB even for the largest model; its small records a few bytes. */
const MAX_PICKLE_BYTES = 8 << 20;
const MAX_RECORD_BYTES = 64;

const RESAVE = 'with a current torch: `torch.save(torch.load(old, weights_only=True), new)` '
  + '(the zip format, `_use_new_zipfile_serialization=True`, the default since torch 1.6)';

class StorageType implements PyObject {
  constructor(readonly pyName: string, readonly dtype: string, readonly itemSize: number) {}
}

interface Storage {
  key: string;
  dtype: string;
  itemSize: number;
  /** Elements, as the persistent id says; the record holds numel * itemSize bytes. */
  numel: number;
  entry: ZipEntry;
}

export interface TorchTensor {
  storage: Storage;
  /** In elements, as torch counts it. */
  storageOffset: number;
  shape: number[];
  stride: number[];
}

class StorageRef implements PyObject {
  readonly pyName = 'torch.storage';
  constructor(readonly storage: Storage) {}
}

class TensorValue implements PyObject {
  readonly pyName = 'torch.Tensor';
  constructor(readonly tensor: TorchTensor) {}
}

class Callable implements PyObject {
  constructor(readonly pyName: string, readonly call: (args: readonly PyValue[]) => PyValue) {}
}

function bad(label: string, message: string, field?: string, value?: unknown, expected?: string): never {
  throw new ModelFormatError(message, { file: label, field, value, expected });
}

function isLittleEndianHost(): boolean {
  return os.endianness() === 'LE';
}

/** A tuple of non-negative safe integers (a size or a stride). */
function intTuple(label: string, v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple) || !v.items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    bad(label, `tensor ${what} is not a tuple of non-negative integers (corrupt data.pkl)`, what, describePy(v), 'a tuple of ints');
  }
  return v.items as number[];
}

function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}

/** The state_dict policy: the globals a torch.save'd state_dict uses, each answered by our own code. */
class StateDictPolicy implements PicklePolicy {
  private readonly storages = new Map<string, Storage>();
  private readonly globals = new Map<string, PyObject>();

  constructor(private readonly archive: ZipArchive, private readonly stem: string, private readonly label: string) {
    const orderedDict = new Callable('collections.OrderedDict', (args) => this.orderedDict(args));
    this.globals.set('collections.OrderedDict', orderedDict);
    this.globals.set('torch._utils._rebuild_tensor_v2', new Callable('torch._utils._rebuild_tensor_v2', (args) => this.rebuildTensor(args)));
    this.globals.set('torch._utils._rebuild_parameter', new Callable('torch._utils._rebuild_parameter', (args) => this.rebuildParameter(args)));
    for (const [name, t] of Object.entries(STORAGE_TYPES)) this.globals.set(`torch.${name}`, new StorageType(`torch.${name}`, t.dtype, t.itemSize));
  }

  resolveGlobal(module: string, name: string): PyObject | undefined {
    const full = `${module}.${name}`;
    const known = this.globals.get(full);
    if (known) return known;
    if (module === 'torch' && name.endsWith('Storage')) {
      bad(this.label, `tensor storage type ${full} is not supported`, 'storage type', full,
        `one of ${Object.keys(STORAGE_TYPES).map((n) => `torch.${n}`).join(', ')} (weights must be F32, BF16, F16 or F64)`);
    }
    return undefined;
  }

  private orderedDict(args: readonly PyValue[]): PyValue {
    if (args.length !== 0) bad(this.label, 'collections.OrderedDict is called with arguments; a state_dict pickle fills it item by item', 'OrderedDict', args.length, 'no arguments');
    return new PyDict('collections.OrderedDict');
  }

  /** `('storage', storage_type, key, location, numel)` -> the storage record `<stem>/data/<key>`. */
  persistentLoad(pid: PyValue): PyValue {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
      bad(this.label, 'unknown persistent id in data.pkl (not a tensor storage)', 'persistent id', describePy(pid), "('storage', storage_type, key, location, numel)");
    }
    const [, type, key, location, numel] = pid.items;
    if (!(type instanceof StorageType)) bad(this.label, 'persistent id names no storage type', 'persistent id', describePy(type), 'a torch.*Storage class');
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) bad(this.label, 'storage key is not a record name', 'storage key', describePy(key), 'a string such as "0"');
    if (typeof location !== 'string') bad(this.label, 'storage location is not a string', `storage ${key} location`, describePy(location), 'e.g. "cpu" or "cuda:0"');
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) bad(this.label, 'storage size is not a non-negative integer', `storage ${key} numel`, describePy(numel));
    const seen = this.storages.get(key);
    if (seen) {
      if (seen.dtype !== type.dtype || seen.numel !== numel) {
        bad(this.label, 'one storage record is described two different ways', `storage ${key}`, `${type.pyName}[${numel}]`, `${seen.dtype}[${seen.numel}] as before`);
      }
      return new StorageRef(seen);
    }
    const record = `${this.stem}/data/${key}`;
    const entry = this.archive.get(record);
    if (!entry) bad(this.label, 'tensor storage record missing from the archive', record, undefined, `an entry ${record}, as data.pkl refers to it`);
    if (entry.size !== numel * type.itemSize) {
      bad(this.label, 'tensor storage record has the wrong size for its element count', record, entry.size, `${numel} x ${type.itemSize} = ${numel * type.itemSize} bytes`);
    }
    const storage: Storage = { key, dtype: type.dtype, itemSize: type.itemSize, numel, entry };
    this.storages.set(key, storage);
    return new StorageRef(storage);
  }

  /** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
  private rebuildTensor(args: readonly PyValue[]): PyValue {
    if (args.length !== 6 && args.length !== 7) bad(this.label, '_rebuild_tensor_v2 takes 6 or 7 arguments', '_rebuild_tensor_v2', args.length, '6 or 7');
    const [storage, offset, size, stride, requiresGrad, hooks] = args;
    if (!(storage instanceof StorageRef)) bad(this.label, '_rebuild_tensor_v2 is not given a storage', '_rebuild_tensor_v2 storage', describePy(storage), 'a persistent storage id');
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) bad(this.label, 'tensor storage offset is not a non-negative integer', 'storage_offset', describePy(offset));
    const shape = intTuple(this.label, size, 'size');
    const strides = intTuple(this.label, stride, 'stride');
    if (shape.length !== strides.length) bad(this.label, 'tensor size and stride differ in length', 'stride', strides, `${shape.length} strides for size ${JSON.stringify(shape)}`);
    if (typeof requiresGrad !== 'boolean') bad(this.label, 'tensor requires_grad is not a bool', 'requires_grad', describePy(requiresGrad));
    if (!(hooks instanceof PyDict) || hooks.entries.size !== 0) bad(this.label, 'tensor carries backward hooks', 'backward_hooks', describePy(hooks), 'an empty OrderedDict');
    return new TensorValue({ storage: storage.storage, storageOffset: offset, shape, stride: strides });
  }

  /** `_rebuild_parameter(data, requires_grad, backward_hooks)`: an nn.Parameter is its data here. */
  private rebuildParameter(args: readonly PyValue[]): PyValue {
    const [data, requiresGrad, hooks] = args;
    if (args.length !== 3 || !(data instanceof TensorValue) || typeof requiresGrad !== 'boolean' || !(hooks instanceof PyDict) || hooks.entries.size !== 0) {
      bad(this.label, '_rebuild_parameter is not given (tensor, requires_grad, no hooks)', '_rebuild_parameter', args.map(describePy), '(tensor, bool, empty OrderedDict)');
    }
    return data;
  }
}

/** Says what a file that is not a torch zip checkpoint is, as helpfully as its first bytes allow. */
function refuseNonZip(source: ByteSource, head: Buffer): never {
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) {
    const legacy = head.subarray(0, LEGACY_MAGIC.length).equals(LEGACY_MAGIC);
    bad(source.label, legacy
      ? `this is a checkpoint in PyTorch's legacy (pre-1.6, non-zip) format, which trm-node does not read; re-save it ${RESAVE}`
      : `this is a bare pickle, not a PyTorch zip checkpoint; re-save the state_dict ${RESAVE}`,
    'format', legacy ? 'legacy torch.save format' : 'pickle', 'a PyTorch zip checkpoint (starts with "PK")');
  }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    bad(source.label, `this is a checkpoint in PyTorch's oldest (tar) format; re-save it ${RESAVE}`, 'format', 'tar', 'a PyTorch zip checkpoint');
  }
  if (head.length >= 9 && head[8] === 0x7b && head.readBigUInt64LE(0) < BigInt(source.size)) {
    bad(source.label, 'this is a safetensors file, not a PyTorch checkpoint: put it in a model directory as model.safetensors beside a config.json',
      'format', 'safetensors', 'a PyTorch zip checkpoint');
  }
  bad(source.label, 'not a PyTorch checkpoint (no zip signature)', 'format', head.subarray(0, 4).toString('hex'), 'a PyTorch zip checkpoint from torch.save (starts with "PK")');
}

/** The tensors of a state_dict, read lazily. Implements the source `loadWeights` checks. */
export class TorchStateDict implements TensorSource {
  readonly file: string;
  private readonly tensors: Map<string, TorchTensor>;

  constructor(private readonly source: ByteSource, private readonly archive: ZipArchive, tensors: Map<string, TorchTensor>) {
    this.file = source.label;
    this.tensors = tensors;
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  tensor(name: string): TorchTensor {
    const t = this.tensors.get(name);
    if (!t) bad(this.file, 'tensor not found in the checkpoint', name, undefined, 'a tensor of that name in the state_dict');
    return t;
  }

  info(name: string): { dtype: string; shape: number[] } {
    const t = this.tensor(name);
    return { dtype: t.storage.dtype, shape: t.shape };
  }

  /** The tensor as row-major float32. Reads only the span of the storage it covers. */
  toFloat32(name: string): Float32Array {
    const t = this.tensor(name);
    const { storage, shape, stride, storageOffset } = t;
    if (!FLOAT_DTYPES.has(storage.dtype)) bad(this.file, 'tensor is not floating point', name, storage.dtype, 'F32, BF16, F16 or F64');
    const n = shape.reduce((a, b) => a * b, 1);
    if (n === 0) return new Float32Array(0);
    // An expanded (stride-0) view could ask for far more memory than the file holds; no state_dict has one.
    if (n > storage.numel) {
      bad(this.file, 'tensor has more elements than its storage (a broadcast view)', name, n,
        `at most ${storage.numel} elements: save a contiguous copy (tensor.contiguous())`);
    }
    let last = storageOffset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
    if (last >= storage.numel) {
      bad(this.file, 'tensor view reaches past the end of its storage', name, { storageOffset, shape, stride },
        `element indices below the storage's ${storage.numel}`);
    }
    const span = last - storageOffset + 1;
    const start = storage.entry.dataOffset + storageOffset * storage.itemSize;
    const whole = storageOffset === 0 && span === storage.numel;
    const rowMajor = contiguousStrides(shape);
    const contiguous = n === span && shape.every((size, d) => size === 1 || stride[d] === rowMajor[d]);

    if (contiguous && storage.dtype === 'F32' && isLittleEndianHost()) {
      // The common case, and the one that matters for a puzzle table of hundreds of MB: one read, straight into the result.
      const out = new Float32Array(n);
      const bytes = new Uint8Array(out.buffer);
      this.source.readInto(start, bytes);
      if (whole) this.archive.checkCrc(storage.entry, bytes);
      return out;
    }
    const bytes = readBytes(this.source, start, span * storage.itemSize);
    if (whole) this.archive.checkCrc(storage.entry, bytes);
    const convert = elementReader(storage.dtype, bytes);
    const out = new Float32Array(n);
    if (contiguous) {
      for (let i = 0; i < n; i++) out[i] = convert(i);
      return out;
    }
    // Odometer over the view's indices; `at` is the element's index relative to storageOffset.
    const index = new Array<number>(shape.length).fill(0);
    let at = 0;
    for (let i = 0; i < n; i++) {
      out[i] = convert(at);
      for (let d = shape.length - 1; d >= 0; d--) {
        index[d]++;
        at += stride[d];
        if (index[d] < shape[d]) break;
        at -= index[d] * stride[d];
        index[d] = 0;
      }
    }
    return out;
  }
}

function elementReader(dtype: string, bytes: Buffer): (i: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const widen = new Float32Array(1);
  const widenBits = new Uint32Array(widen.buffer);
  switch (dtype) {
    case 'F32': return (i) => view.getFloat32(i * 4, true);
    case 'F64': return (i) => view.getFloat64(i * 8, true);
    case 'F16': return (i) => f16ToFloat32(view.getUint16(i * 2, true));
    case 'BF16': return (i) => {
      // bf16 is the top half of a float32: widening is exact.
      widenBits[0] = view.getUint16(i * 2, true) << 16;
      return widen[0];
    };
    default: throw new Error(`elementReader: ${dtype} is not a float dtype`);
  }
}

/** The one `<stem>/data.pkl` at the archive's top level names the record prefix every other record shares. */
function recordStem(archive: ZipArchive, label: string): string {
  const stems = archive.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
  if (stems.length !== 1) {
    bad(label, stems.length === 0
      ? 'zip archive is not a PyTorch checkpoint: it has no <name>/data.pkl record'
      : 'zip archive holds several PyTorch checkpoints', 'data.pkl', stems, 'exactly one <name>/data.pkl, as torch.save writes');
  }
  return stems[0];
}

/** Opens a checkpoint and runs its pickle; tensor data stays on disk until `toFloat32`. */
export function readTorchStateDict(source: ByteSource): TorchStateDict {
  const label = source.label;
  const head = readBytes(source, 0, Math.min(source.size, 512));
  if (head.length < 4 || head.readUInt32LE(0) !== 0x04034b50) refuseNonZip(source, head);
  const archive = new ZipArchive(source);
  const stem = recordStem(archive, label);

  const byteorder = archive.get(`${stem}/byteorder`) ? archive.read(`${stem}/byteorder`, MAX_RECORD_BYTES).toString('latin1').trim() : 'little';
  if (byteorder !== 'little') {
    bad(label, byteorder === 'big' ? 'big-endian checkpoints are not supported; re-save it on a little-endian machine' : 'unknown byteorder record',
      `${stem}/byteorder`, byteorder, '"little"');
  }
  if (!archive.get(`${stem}/version`)) bad(label, 'zip archive has no version record, so it is not from torch.save', `${stem}/version`, undefined, 'a record holding the format version');
  const version = archive.read(`${stem}/version`, MAX_RECORD_BYTES).toString('latin1').trim();
  if (!/^[1-9]\d*$/.test(version)) bad(label, 'checkpoint format version is not a positive integer', `${stem}/version`, version, 'e.g. "3"');

  const pickle = archive.read(`${stem}/data.pkl`, MAX_PICKLE_BYTES);
  const root = unpickle(pickle, new StateDictPolicy(archive, stem, label), label);
  if (!(root instanceof PyDict)) {
    bad(label, 'the checkpoint does not hold a state_dict', 'data.pkl', describePy(root),
      'a dict of tensors, as torch.save(model.state_dict(), path) writes');
  }
  const tensors = new Map<string, TorchTensor>();
  for (const [key, value] of root.entries) {
    if (typeof key !== 'string') bad(label, 'state_dict key is not a string', 'state_dict key', describePy(key), 'a tensor name');
    if (!(value instanceof TensorValue)) {
      const hint = value instanceof PyDict ? ' (a nested dict: save model.state_dict() itself)' : '';
      bad(label, `state_dict entry is not a tensor${hint}`, key, isPyObject(value) ? value.pyName : describePy(value), 'a tensor');
    }
    tensors.set(key, value.tensor);
  }
  return new TorchStateDict(source, archive, tensors);
}
