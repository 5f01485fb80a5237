/**
 * Mutations of a seed input, as fast-check arbitraries (so a failure shrinks to a small
 * edit of a real file): byte flips and overwrites, truncation, inserted and deleted runs,
 * numbers written over the text, and structured edits of a JSON value (replace, delete or
 * add a field anywhere with a hostile value: huge or negative numbers, wrong types, deep
 * nesting).
 */
import fc from 'fast-check';

/** Where an edit lands: anywhere, or (half the time) in the first `hot` bytes, e.g. a header. */
function position(length: number, hot: number): fc.Arbitrary<number> {
  const all = fc.integer({ min: 0, max: Math.max(0, length - 1) });
  return hot > 0 && hot < length ? fc.oneof(fc.integer({ min: 0, max: hot - 1 }), all) : all;
}

const NUMBER_TEXTS = [
  '0', '-1', '-0', '1e400', '-1e400', '1e-400', '9007199254740993', '18446744073709551616', '4294967296', '2147483648',
  '1.5', '0.0000001', '1e308', '123456789012345678901234567890', 'NaN', 'Infinity', '"', ']', '}', ',', 'null',
];

export type ByteEdit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'number'; at: number; text: string };

export function byteEdit(length: number, hot = 0): fc.Arbitrary<ByteEdit> {
  const at = position(length, hot);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at, byte: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x2c, 0x7b, 0x7d, 0x30, 0x39, 0x2d) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('number' as const), at, text: fc.constantFrom(...NUMBER_TEXTS) }) },
  );
}

export function applyByteEdits(seed: Uint8Array, edits: readonly ByteEdit[]): Buffer {
  let out = Buffer.from(seed);
  for (const e of edits) {
    const at = Math.min(e.at, out.length);
    switch (e.kind) {
      case 'flip': if (at < out.length) out[at] ^= 1 << e.bit; break;
      case 'set': if (at < out.length) out[at] = e.byte; break;
      case 'truncate': out = out.subarray(0, at); break;
      case 'insert': out = Buffer.concat([out.subarray(0, at), e.bytes, out.subarray(at)]); break;
      case 'delete': out = Buffer.concat([out.subarray(0, at), out.subarray(at + e.length)]); break;
      case 'number': {
        const text = Buffer.from(e.text);
        out = Buffer.concat([out.subarray(0, at), text, out.subarray(Math.min(out.length, at + text.length))]);
        break;
      }
    }
  }
  return out;
}

/** 1..8 byte-level edits of a seed of `length` bytes (applied later: large seeds are copied only once, when run). */
export function byteEdits(length: number, hot = 0): fc.Arbitrary<ByteEdit[]> {
  return fc.array(byteEdit(length, hot), { minLength: 1, maxLength: 8 });
}

/** Seed bytes with 1..8 byte-level edits, materialised (for small seeds). */
export function mutatedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Buffer> {
  return fc.integer({ min: 0, max: seeds.length - 1 }).chain((i) => byteEdits(seeds[i].length).map((edits) => applyByteEdits(seeds[i], edits)));
}

/** A JSON value written as raw text, so numbers JSON.stringify cannot write (1e400) reach the parser. */
const RAW = '__raw__:';
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 3, 7, 64, 65535, 65536, 1 << 20, (1 << 20) + 1, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e300, -1e300, 0.5, -0.5, 1e-320),
  fc.constantFrom(`${RAW}1e400`, `${RAW}-1e400`, `${RAW}18446744073709551616`, `${RAW}-0`, `${RAW}123456789012345678901234567890`),
  fc.constantFrom('', 'rope', 'learned', 'none', 'F32', 'BF16', 'I64', 'toString', '__proto__', 'constructor', 'x'.repeat(300)),
  fc.constantFrom(null, true, false),
  fc.constantFrom([], [0], [-1], [1, 2], [2 ** 53, 2 ** 53], [0, 1e300], [[[]]], {}, { a: 1 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 6 }),
);

export type JsonEdit =
  | { op: 'replace'; path: number; value: unknown }
  | { op: 'delete'; path: number }
  | { op: 'add'; path: number; key: string; value: unknown };

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), path: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), path: fc.nat(), key: fc.constantFrom('extra', '__proto__', 'constructor', 'dtype', 'shape', 'data_offsets', '__metadata__'), value: hostileValue }) },
);

type Container = Record<string, unknown> | unknown[];

/** Every (container, key) of a JSON value, depth-first. */
function slots(value: unknown, out: Array<[Container, string | number]> = []): Array<[Container, string | number]> {
  if (Array.isArray(value)) {
    value.forEach((v, i) => { out.push([value, i]); slots(v, out); });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) { out.push([value as Record<string, unknown>, k]); slots(v, out); }
  }
  return out;
}

/** Applies edits to a deep copy of `value` and writes it as JSON text (raw numbers kept raw). */
export function applyJsonEdits(value: unknown, edits: readonly JsonEdit[]): string {
  const root = { root: structuredClone(value) } as Record<string, unknown>;
  for (const e of edits) {
    const all = slots(root);
    if (all.length === 0) break;
    const [container, key] = all[e.path % all.length];
    const isArray = Array.isArray(container);
    // A copy: fast-check hands out the same constant objects to many inputs.
    const value = structuredClone(e.op === 'delete' ? undefined : e.value);
    if (e.op === 'replace') (container as Record<string | number, unknown>)[key] = value;
    else if (e.op === 'delete') {
      if (isArray) (container as unknown[]).splice(key as number, 1);
      else delete (container as Record<string, unknown>)[key as string];
    } else {
      const target = (container as Record<string | number, unknown>)[key];
      if (Array.isArray(target)) target.push(value);
      else if (target !== null && typeof target === 'object') Object.defineProperty(target, e.key, { value, enumerable: true, writable: true, configurable: true });
      else (container as Record<string | number, unknown>)[key] = { [e.key]: value };
    }
  }
  // Deleting the root leaves nothing: an empty text, itself a case worth feeding.
  return (JSON.stringify(root.root) ?? '').replace(new RegExp(`"${RAW}([^"]*)"`, 'g'), '$1');
}

/** A seed JSON value with 1..4 structured edits, as text. */
export function mutatedJson(seeds: readonly unknown[]): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(jsonEdit, { minLength: 1, maxLength: 4 }))
    .map(([i, edits]) => applyJsonEdits(seeds[i], edits));
}
