/**
 * Random access to the bytes of a checkpoint, from a file (read by offset, never whole, so
 * a puzzle table of hundreds of MB is read once, straight into its destination) or from a
 * buffer (tests and the fuzz target).
 */
import * as fs from 'node:fs';
import { ModelFormatError } from '../../errors';

export interface ByteSource {
  /** Labels errors: the file path, or a name for an in-memory buffer. */
  readonly label: string;
  readonly size: number;
  /** Fills `into` with the bytes at [offset, offset + into.length); short reads are an error. */
  readInto(offset: number, into: Uint8Array): void;
  close(): void;
}

function checkRange(source: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > source.size) {
    throw new ModelFormatError('read past the end of the checkpoint (truncated file?)', {
      file: source.label, field: 'byte range', value: [offset, offset + length], expected: `a range within the file's ${source.size} bytes`,
    });
  }
}

/** `length` bytes at `offset` as a new Buffer. */
export function readBytes(source: ByteSource, offset: number, length: number): Buffer {
  checkRange(source, offset, length);
  const out = Buffer.allocUnsafe(length);
  source.readInto(offset, out);
  return out;
}

export class BufferByteSource implements ByteSource {
  readonly size: number;

  constructor(private readonly bytes: Uint8Array, readonly label = '<buffer>') {
    this.size = bytes.length;
  }

  readInto(offset: number, into: Uint8Array): void {
    checkRange(this, offset, into.length);
    into.set(this.bytes.subarray(offset, offset + into.length));
  }

  close(): void {}
}

export class FileByteSource implements ByteSource {
  readonly size: number;
  private fd: number | null;

  constructor(readonly label: string) {
    try {
      this.fd = fs.openSync(label, 'r');
      this.size = fs.fstatSync(this.fd).size;
    } catch (e) {
      throw new ModelFormatError(`cannot open the checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
        file: label, expected: 'a readable PyTorch checkpoint file',
      });
    }
  }

  readInto(offset: number, into: Uint8Array): void {
    checkRange(this, offset, into.length);
    if (this.fd === null) throw new ModelFormatError('checkpoint file already closed', { file: this.label });
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) {
        throw new ModelFormatError('checkpoint file ended early (changed while being read?)', {
          file: this.label, field: 'byte range', value: [offset, offset + into.length], expected: `${into.length} bytes`,
        });
      }
      done += n;
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
