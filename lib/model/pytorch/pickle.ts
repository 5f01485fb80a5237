/**
 * A restricted pickle machine: it reads the opcodes of protocols 0 to 5 that plain data
 * needs (numbers, strings, bytes, tuples, lists, dicts, sets, the memo, marks, frames) and
 * nothing that reaches into Python. Every GLOBAL/STACK_GLOBAL goes to the caller's policy,
 * which answers with an object of its own or refuses; REDUCE calls only what the policy
 * handed out, BUILD touches only what the policy built (or a dict's attribute slot), and the
 * opcodes that instantiate classes (INST, OBJ, NEWOBJ, NEWOBJ_EX), the extension registry
 * and out-of-band buffers are refused outright. So a pickle can describe data here, never
 * run code or make an arbitrary object.
 */
import { ModelFormatError } from '../../errors';

/** Something the policy made (a resolved global, a storage, a tensor): the only non-plain values. */
export interface PyObject {
  /** The Python name it stands for, for error messages ("collections.OrderedDict"). */
  readonly pyName: string;
  /** REDUCE: present only on the globals the policy lets a pickle call. */
  call?(args: readonly PyValue[]): PyValue;
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

export class PySet {
  constructor(readonly items: PyValue[] = [], readonly frozen = false) {}
}

export class PyDict {
  readonly entries = new Map<PyValue, PyValue>();
  /** What BUILD sets on it: an OrderedDict's instance attributes (a state_dict's `_metadata`). */
  readonly attributes = new Map<string, PyValue>();
  constructor(readonly pyName = 'dict') {}
}

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyTuple | PyList | PySet | PyDict | PyObject;

export interface PicklePolicy {
  /** The object `module.name` stands for, or undefined to refuse it. */
  resolveGlobal(module: string, name: string): PyObject | undefined;
  /** Resolves a persistent id (BINPERSID/PERSID); throws for one it does not know. */
  persistentLoad(pid: PyValue): PyValue;
}

/** Opcode names for error messages; also the list of everything this machine reads or refuses by name. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Opcodes that would build objects by class or fetch them from outside the stream. */
const REFUSED = new Set([0x69, 0x6f, 0x81, 0x92, 0x82, 0x83, 0x84, 0x97, 0x98]);

const MAX_PROTOCOL = 5;

/** Integers in a state_dict are sizes and offsets; far longer ones are only a way to make decoding slow. */
const MAX_INT_BYTES = 256;
const MAX_INT_DIGITS = 600;

export function isPyObject(v: PyValue): v is PyObject {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof PyTuple)
    && !(v instanceof PyList) && !(v instanceof PySet) && !(v instanceof PyDict);
}

/** A short Python-ish description of a value, for error messages. */
export function describePy(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (v instanceof PyTuple) return `tuple(${v.items.length})`;
  if (v instanceof PyList) return `list(${v.items.length})`;
  if (v instanceof PySet) return `${v.frozen ? 'frozenset' : 'set'}(${v.items.length})`;
  if (v instanceof PyDict) return `${v.pyName}(${v.entries.size})`;
  return v.pyName;
}

class Machine {
  private pos = 0;
  private readonly stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();

  constructor(private readonly data: Uint8Array, private readonly policy: PicklePolicy, private readonly label: string) {}

  private fail(message: string, opcodeAt = this.pos, value?: unknown, expected?: string): never {
    throw new ModelFormatError(message, { file: this.label, field: `data.pkl byte ${opcodeAt}`, value, expected });
  }

  private take(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.data.length) {
      this.fail('pickle ends in the middle of an opcode (truncated or corrupt data.pkl)', this.pos, n, `at most ${this.data.length - this.pos} more bytes`);
    }
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private byte(): number {
    return this.take(1)[0];
  }

  private uint(n: 1 | 2 | 4 | 8): number {
    const b = this.take(n);
    const view = new DataView(b.buffer, b.byteOffset, n);
    if (n === 1) return view.getUint8(0);
    if (n === 2) return view.getUint16(0, true);
    if (n === 4) return view.getUint32(0, true);
    const v = view.getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('pickle length field is beyond any file', this.pos - 8, v);
    return Number(v);
  }

  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('pickle text argument has no end of line (truncated data.pkl)');
    const text = Buffer.from(this.data.subarray(this.pos, end)).toString('latin1');
    this.pos = end + 1;
    return text;
  }

  private utf8(n: number): string {
    return Buffer.from(this.take(n)).toString('utf8');
  }

  private push(v: PyValue): void {
    this.stack.push(v);
  }

  private pop(at: number): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('pickle stack underflow (corrupt data.pkl)', at);
    return this.stack.pop()!;
  }

  private top(at: number): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('pickle stack underflow (corrupt data.pkl)', at);
    return this.stack[this.stack.length - 1];
  }

  /** The items pushed since the last MARK, removing them and the mark. */
  private popMark(at: number): PyValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('pickle uses a MARK that was never set (corrupt data.pkl)', at);
    return this.stack.splice(mark);
  }

  private decodeLong(bytes: Uint8Array): number | bigint {
    if (bytes.length === 0) return 0;
    if (bytes.length > MAX_INT_BYTES) this.fail('pickle integer is too long for a state_dict', this.pos - bytes.length, bytes.length, `at most ${MAX_INT_BYTES} bytes`);
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
    if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private textInt(text: string, at: number): number | bigint {
    const t = text.endsWith('L') ? text.slice(0, -1) : text;
    if (t.length > MAX_INT_DIGITS || !/^[+-]?\d+$/.test(t)) this.fail('pickle INT/LONG argument is not an integer of a sensible length', at, text);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** raw-unicode-escape, as protocol 0's UNICODE writes: \uXXXX and \UXXXXXXXX, everything else latin-1. */
  private rawUnicode(text: string, at: number): string {
    return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
      const code = parseInt((u4 ?? u8)!, 16);
      if (code > 0x10ffff) this.fail('pickle UNICODE escape is beyond Unicode', at, code);
      return String.fromCodePoint(code);
    });
  }

  private global(module: string, name: string, at: number): PyObject {
    const resolved = this.policy.resolveGlobal(module, name);
    if (resolved === undefined) {
      throw new ModelFormatError(`the checkpoint's pickle asks for the Python global ${module}.${name}, which a state_dict never needs; `
        + 'refusing it, since loading it could run code', {
        file: this.label, field: `data.pkl byte ${at}`, value: `${module}.${name}`,
        expected: 'only collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.*Storage',
      });
    }
    return resolved;
  }

  private memoGet(key: number, at: number): PyValue {
    if (!this.memo.has(key)) this.fail('pickle reads a memo slot that was never written (corrupt data.pkl)', at, key);
    return this.memo.get(key)!;
  }

  private memoPut(key: number, at: number): void {
    this.memo.set(key, this.top(at));
  }

  private setItems(target: PyValue, items: PyValue[], at: number): void {
    if (!(target instanceof PyDict)) this.fail('pickle sets dict items on something that is not a dict', at, describePy(target), 'a dict');
    if (items.length % 2 !== 0) this.fail('pickle SETITEMS has an odd number of items (corrupt data.pkl)', at, items.length);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (typeof key === 'object' && key !== null && !(key instanceof PyTuple)) {
        this.fail('pickle uses an unhashable dict key', at, describePy(key), 'a string, number, bytes or tuple');
      }
      target.entries.set(key, items[i + 1]);
    }
  }

  run(): PyValue {
    for (;;) {
      const at = this.pos;
      if (at >= this.data.length) this.fail('pickle ends without STOP (truncated data.pkl)', at);
      const op = this.byte();
      if (REFUSED.has(op)) {
        this.fail(`the checkpoint's pickle uses ${OPCODE_NAMES[op]}, which builds objects or fetches them from outside the file; `
          + 'a state_dict never needs it', at, OPCODE_NAMES[op], 'a plain torch.save(state_dict) pickle');
      }
      switch (op) {
        case 0x80: { // PROTO
          const protocol = this.byte();
          if (protocol > MAX_PROTOCOL) this.fail('unsupported pickle protocol', at, protocol, `0 to ${MAX_PROTOCOL}`);
          break;
        }
        case 0x95: { // FRAME: a length prefix for buffering; the stream reads the same without it.
          const length = this.uint(8);
          if (this.pos + length > this.data.length) this.fail('pickle frame runs past the end of data.pkl (truncated)', at, length);
          break;
        }
        case 0x2e: { // STOP
          const result = this.pop(at);
          return result;
        }
        case 0x28: this.marks.push(this.stack.length); break;
        case 0x30: { // POP (pops the mark itself when nothing lies above it, as CPython does)
          const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
          if (this.stack.length > floor) this.stack.pop();
          else this.popMark(at);
          break;
        }
        case 0x31: this.popMark(at); break;
        case 0x32: this.push(this.top(at)); break;
        case 0x4e: this.push(null); break;
        case 0x88: this.push(true); break;
        case 0x89: this.push(false); break;
        case 0x49: { // INT: protocol 0 also spells booleans as 00/01
          const text = this.line();
          if (text === '00' || text === '01') this.push(text === '01');
          else this.push(this.textInt(text, at));
          break;
        }
        case 0x4c: this.push(this.textInt(this.line(), at)); break;
        case 0x4a: { const b = this.take(4); this.push(new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true)); break; }
        case 0x4b: this.push(this.uint(1)); break;
        case 0x4d: this.push(this.uint(2)); break;
        case 0x8a: this.push(this.decodeLong(this.take(this.uint(1)))); break;
        case 0x8b: {
          const b = this.take(4);
          const n = new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
          if (n < 0) this.fail('pickle LONG4 has a negative length (corrupt data.pkl)', at, n);
          this.push(this.decodeLong(this.take(n)));
          break;
        }
        case 0x46: {
          const text = this.line();
          const v = Number(text);
          if (text.trim() === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(text))) this.fail('pickle FLOAT argument is not a number', at, text);
          this.push(v);
          break;
        }
        case 0x47: { const b = this.take(8); this.push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false)); break; }
        case 0x58: this.push(this.utf8(this.uint(4))); break;
        case 0x8c: this.push(this.utf8(this.uint(1))); break;
        case 0x8d: this.push(this.utf8(this.uint(8))); break;
        case 0x56: this.push(this.rawUnicode(this.line(), at)); break;
        // Python 2 str: bytes that protocol-2 readers decode as latin-1 text by default.
        case 0x54: this.push(Buffer.from(this.take(this.uint(4))).toString('latin1')); break;
        case 0x55: this.push(Buffer.from(this.take(this.uint(1))).toString('latin1')); break;
        case 0x42: this.push(Uint8Array.from(this.take(this.uint(4)))); break;
        case 0x43: this.push(Uint8Array.from(this.take(this.uint(1)))); break;
        case 0x8e: case 0x96: this.push(Uint8Array.from(this.take(this.uint(8)))); break;
        case 0x29: this.push(new PyTuple([])); break;
        case 0x74: this.push(new PyTuple(this.popMark(at))); break;
        case 0x85: { const a = this.pop(at); this.push(new PyTuple([a])); break; }
        case 0x86: { const b = this.pop(at); const a = this.pop(at); this.push(new PyTuple([a, b])); break; }
        case 0x87: { const c = this.pop(at); const b = this.pop(at); const a = this.pop(at); this.push(new PyTuple([a, b, c])); break; }
        case 0x5d: this.push(new PyList()); break;
        case 0x6c: this.push(new PyList(this.popMark(at))); break;
        case 0x61: {
          const item = this.pop(at);
          const list = this.top(at);
          if (!(list instanceof PyList)) this.fail('pickle appends to something that is not a list', at, describePy(list), 'a list');
          list.items.push(item);
          break;
        }
        case 0x65: {
          const items = this.popMark(at);
          const list = this.top(at);
          if (!(list instanceof PyList)) this.fail('pickle appends to something that is not a list', at, describePy(list), 'a list');
          for (const item of items) list.items.push(item);
          break;
        }
        case 0x7d: this.push(new PyDict()); break;
        case 0x64: { const d = new PyDict(); this.setItems(d, this.popMark(at), at); this.push(d); break; }
        case 0x73: { const value = this.pop(at); const key = this.pop(at); this.setItems(this.top(at), [key, value], at); break; }
        case 0x75: { const items = this.popMark(at); this.setItems(this.top(at), items, at); break; }
        case 0x8f: this.push(new PySet()); break;
        case 0x90: {
          const items = this.popMark(at);
          const set = this.top(at);
          if (!(set instanceof PySet) || set.frozen) this.fail('pickle adds set items to something that is not a set', at, describePy(set), 'a set');
          for (const item of items) set.items.push(item);
          break;
        }
        case 0x91: this.push(new PySet(this.popMark(at), true)); break;
        case 0x67: this.push(this.memoGet(this.textInt(this.line(), at) as number, at)); break;
        case 0x68: this.push(this.memoGet(this.uint(1), at)); break;
        case 0x6a: this.push(this.memoGet(this.uint(4), at)); break;
        case 0x70: this.memoPut(this.textInt(this.line(), at) as number, at); break;
        case 0x71: this.memoPut(this.uint(1), at); break;
        case 0x72: this.memoPut(this.uint(4), at); break;
        case 0x94: this.memoPut(this.memo.size, at); break;
        case 0x63: { // GLOBAL "module\nname\n"
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name, at));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop(at);
          const module = this.pop(at);
          if (typeof module !== 'string' || typeof name !== 'string') {
            this.fail('pickle STACK_GLOBAL needs two strings', at, [describePy(module), describePy(name)], 'module and name strings');
          }
          this.push(this.global(module, name, at));
          break;
        }
        case 0x50: this.push(this.policy.persistentLoad(this.line())); break;
        case 0x51: this.push(this.policy.persistentLoad(this.pop(at))); break;
        case 0x52: { // REDUCE: only on what the policy made callable
          const args = this.pop(at);
          const callable = this.pop(at);
          if (!isPyObject(callable) || callable.call === undefined) {
            this.fail('the checkpoint\'s pickle calls something that is not an allowed constructor', at, describePy(callable),
              'collections.OrderedDict, torch._utils._rebuild_tensor_v2 or torch._utils._rebuild_parameter');
          }
          if (!(args instanceof PyTuple)) this.fail('pickle REDUCE arguments are not a tuple (corrupt data.pkl)', at, describePy(args), 'a tuple');
          this.push(callable.call(args.items));
          break;
        }
        case 0x62: { // BUILD: only a dict's attributes (OrderedDict's _metadata); nothing else has state to set
          const state = this.pop(at);
          const target = this.top(at);
          if (!(target instanceof PyDict) || !(state instanceof PyDict)) {
            this.fail('the checkpoint\'s pickle sets the state of an object, which a state_dict never does beyond its _metadata', at,
              `${describePy(target)} <- ${describePy(state)}`, 'an OrderedDict given a dict of attributes');
          }
          for (const [key, value] of state.entries) {
            if (typeof key !== 'string') this.fail('pickle BUILD attribute name is not a string', at, describePy(key));
            target.attributes.set(key, value);
          }
          break;
        }
        case 0x53:
          this.fail('the checkpoint\'s pickle uses protocol 0 STRING, which torch.save never writes', at, 'STRING', 'a protocol 2 (or later) pickle');
          break;
        default:
          this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} (corrupt data.pkl)`, at, op, 'a pickle opcode of protocols 0 to 5');
      }
    }
  }
}

/** Runs a pickle stream under `policy` and returns what it builds. `label` names the file in errors. */
export function unpickle(data: Uint8Array, policy: PicklePolicy, label = '<pickle>'): PyValue {
  return new Machine(data, policy, label).run();
}
