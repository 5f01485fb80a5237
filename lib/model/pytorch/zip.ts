/**
 * A zip archive reader for what `torch.save` writes: the central directory (ZIP64 when the
 * archive passes 4 GiB or 65535 entries), stored entries only, each entry's data located
 * through its local header (torch pads that header so data starts 64-byte aligned). Only the
 * directory is read up front; entry data is read by offset when asked for.
 */
import * as zlib from 'node:zlib';
import { ModelFormatError } from '../../errors';
import { ByteSource, readBytes } from './bytes';

export interface ZipEntry {
  name: string;
  /** Offset of the entry's first data byte in the archive. */
  dataOffset: number;
  size: number;
  crc32: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA_ID = 0x0001;

function fail(source: ByteSource, message: string, field?: string, value?: unknown, expected?: string): never {
  throw new ModelFormatError(message, { file: source.label, field, value, expected });
}

function u64(source: ByteSource, buf: Buffer, at: number, field: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(source, 'zip field too large', field, v, `at most ${Number.MAX_SAFE_INTEGER}`);
  return Number(v);
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (zip's polynomial). zlib.crc32 exists from Node 20.15; the table is the fallback. */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Directory {
  offset: number;
  size: number;
  entries: number;
  /** Entry data lies before the directory: this is where it must end. */
  dataLimit: number;
}

function findDirectory(source: ByteSource): Directory {
  if (source.size < EOCD_SIZE) fail(source, 'file too short to be a zip archive (truncated?)', 'size', source.size, `at least ${EOCD_SIZE} bytes`);
  const tailLength = Math.min(source.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = source.size - tailLength;
  const tail = readBytes(source, tailStart, tailLength);
  let at = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + EOCD_SIZE + tail.readUInt16LE(i + 20) <= tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    fail(source, 'no zip end-of-central-directory record: the archive is truncated or corrupt', 'end of central directory', undefined,
      'a PyTorch zip checkpoint as torch.save writes it, complete');
  }
  const eocdOffset = tailStart + at;
  let entries = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  let limit = eocdOffset;
  const locatorOffset = eocdOffset - ZIP64_LOCATOR_SIZE;
  if (locatorOffset >= 0) {
    const locator = readBytes(source, locatorOffset, ZIP64_LOCATOR_SIZE);
    if (locator.readUInt32LE(0) === ZIP64_LOCATOR_SIGNATURE) {
      const recordOffset = u64(source, locator, 8, 'zip64 end record offset');
      if (recordOffset + ZIP64_EOCD_SIZE > locatorOffset) {
        fail(source, 'zip64 end record lies outside the archive (corrupt?)', 'zip64 end record offset', recordOffset, `at most ${locatorOffset - ZIP64_EOCD_SIZE}`);
      }
      const record = readBytes(source, recordOffset, ZIP64_EOCD_SIZE);
      if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) fail(source, 'zip64 end record has a bad signature (corrupt?)', 'zip64 end record');
      entries = u64(source, record, 32, 'zip64 entry count');
      size = u64(source, record, 40, 'zip64 central directory size');
      offset = u64(source, record, 48, 'zip64 central directory offset');
      limit = recordOffset;
    }
  }
  if (entries === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    if (limit === eocdOffset) fail(source, 'zip end record points to a ZIP64 record that is not there (truncated or corrupt)', 'zip64 locator');
  }
  if (offset + size > limit) {
    fail(source, 'zip central directory lies outside the archive (truncated or corrupt)', 'central directory', [offset, offset + size], `a range ending by byte ${limit}`);
  }
  if (entries * CENTRAL_SIZE > size) fail(source, 'zip entry count does not fit the central directory (corrupt?)', 'entry count', entries, `at most ${Math.floor(size / CENTRAL_SIZE)}`);
  return { offset, size, entries, dataLimit: offset };
}

/** ZIP64 extended information: the 8-byte values of the fields whose 4-byte slot says 0xffffffff. */
function applyZip64Extra(source: ByteSource, extra: Buffer, name: string, fields: { size: number; compressed: number; local: number }): void {
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    const body = at + 4;
    if (body + length > extra.length) fail(source, 'zip extra field runs past its entry (corrupt?)', `${name} extra field`);
    if (id === ZIP64_EXTRA_ID) {
      let p = body;
      const take = (what: string): number => {
        if (p + 8 > body + length) fail(source, 'zip64 extra field is too short for the values it must hold', `${name} ${what}`);
        const v = u64(source, extra, p, `${name} ${what}`);
        p += 8;
        return v;
      };
      if (fields.size === 0xffffffff) fields.size = take('size');
      if (fields.compressed === 0xffffffff) fields.compressed = take('compressed size');
      if (fields.local === 0xffffffff) fields.local = take('local header offset');
      return;
    }
    at = body + length;
  }
}

export class ZipArchive {
  private readonly entries = new Map<string, ZipEntry>();

  constructor(readonly source: ByteSource) {
    const dir = findDirectory(source);
    const bytes = readBytes(source, dir.offset, dir.size);
    let at = 0;
    for (let i = 0; i < dir.entries; i++) {
      if (at + CENTRAL_SIZE > bytes.length || bytes.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
        fail(source, `zip central directory entry ${i} is damaged (bad signature or cut short)`, 'central directory', at);
      }
      const flags = bytes.readUInt16LE(at + 8);
      const method = bytes.readUInt16LE(at + 10);
      const crc = bytes.readUInt32LE(at + 16);
      const nameLength = bytes.readUInt16LE(at + 28);
      const extraLength = bytes.readUInt16LE(at + 30);
      const commentLength = bytes.readUInt16LE(at + 32);
      const end = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
      if (end > bytes.length) fail(source, `zip central directory entry ${i} runs past the directory (corrupt?)`, 'central directory', end);
      const name = bytes.toString('utf8', at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength);
      const fields = { compressed: bytes.readUInt32LE(at + 20), size: bytes.readUInt32LE(at + 24), local: bytes.readUInt32LE(at + 42) };
      applyZip64Extra(source, bytes.subarray(at + CENTRAL_SIZE + nameLength, at + CENTRAL_SIZE + nameLength + extraLength), name, fields);
      at = end;
      if (flags & 1) fail(source, 'zip entry is encrypted', name, flags, 'an unencrypted entry, as torch.save writes');
      if (method !== 0) {
        fail(source, `zip entry is compressed (method ${method}); torch.save stores entries uncompressed, so the file was repacked`, name, method,
          'method 0 (stored): re-save with torch.save, or repack with `zip -0`');
      }
      if (fields.compressed !== fields.size) fail(source, 'stored zip entry has different compressed and uncompressed sizes (corrupt?)', name, [fields.compressed, fields.size]);
      if (this.entries.has(name)) fail(source, 'zip archive holds the same entry name twice', name, undefined, 'unique entry names');
      this.entries.set(name, { name, dataOffset: this.dataOffset(name, fields.local, fields.size, dir.dataLimit), size: fields.size, crc32: crc });
    }
  }

  /** Data starts after the local header, whose own name and extra lengths may differ from the directory's. */
  private dataOffset(name: string, local: number, size: number, limit: number): number {
    if (local + LOCAL_SIZE > limit) fail(this.source, 'zip local header lies outside the archive (truncated or corrupt)', name, local, `below byte ${limit}`);
    const header = readBytes(this.source, local, LOCAL_SIZE);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) fail(this.source, 'zip local header has a bad signature (corrupt?)', name, local);
    const start = local + LOCAL_SIZE + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (start + size > limit) {
      fail(this.source, 'zip entry data lies beyond the archive data (truncated or corrupt)', name, [start, start + size], `a range ending by byte ${limit}`);
    }
    return start;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  get(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** A whole entry, CRC-checked (for the small records: data.pkl, version, byteorder), refused past `maxBytes`. */
  read(name: string, maxBytes = Number.MAX_SAFE_INTEGER): Buffer {
    const entry = this.entries.get(name);
    if (!entry) fail(this.source, 'zip entry missing', name, undefined, 'an entry of that name');
    if (entry.size > maxBytes) fail(this.source, 'zip record is far larger than it can be', name, entry.size, `at most ${maxBytes} bytes`);
    const bytes = readBytes(this.source, entry.dataOffset, entry.size);
    this.checkCrc(entry, bytes);
    return bytes;
  }

  checkCrc(entry: ZipEntry, bytes: Uint8Array): void {
    const actual = crc32(bytes);
    if (actual !== entry.crc32) {
      fail(this.source, 'zip entry fails its CRC-32 check (corrupt file)', entry.name, `0x${actual.toString(16)}`, `0x${entry.crc32.toString(16)}`);
    }
  }
}
