/**
 * A fast-check smoke of the checkpoint reader: a few thousand checkpoints mutated from the
 * official fixtures, each through fuzzPytorchCheckpoint, which lets only TrmErrors out.
 * Three kinds of mutation, since a byte edit inside a zip record mostly meets its CRC: raw
 * edits of the whole file (the zip layer), edits of data.pkl repacked into a valid zip (the
 * pickle machine and the state_dict rules), and edits of one tensor record with its CRC made
 * right again (values, NaN). The seed is fixed so a failure reproduces; TRM_FUZZ_SEED varies it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZipFile, zipBytes } from '../helpers/torch-writer';
import { MLPT_CHECKPOINT, ROPE_CHECKPOINT, fixtureBytes, fixtureFiles } from '../helpers/torch-fixtures';
import { FuzzOutcome, fuzzPytorchCheckpoint } from './fuzz-target';

const SEED = Number(process.env.TRM_FUZZ_SEED ?? 17);
const RUNS = 1500; // per mutation kind

const FIXTURES = [ROPE_CHECKPOINT, MLPT_CHECKPOINT].map((file) => ({ bytes: fixtureBytes(file), files: fixtureFiles(file) }));

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number };

/** Positions are fractions of the buffer, so one edit list fits any buffer. */
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x28, 0x2e, 0x52, 0x63, 0x71, 0x8a, 0x93) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 40 }) }) },
);

function applyEdits(input: Uint8Array, edits: Edit[]): Buffer {
  let b = Buffer.from(input);
  for (const e of edits) {
    const at = Math.min(b.length, Math.floor(e.at * b.length));
    switch (e.kind) {
      case 'flip': if (at < b.length) b[at] ^= 1 << e.bit; break;
      case 'set': if (at < b.length) b[at] = e.value; break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'insert': b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]); break;
    }
  }
  return b;
}

/** Edits confined to the tail of the file, where the central directory and end record live. */
function tailEdits(bytes: Uint8Array, edits: Edit[]): Buffer {
  const start = Math.max(0, bytes.length - 2048);
  return Buffer.concat([bytes.subarray(0, start), applyEdits(bytes.subarray(start), edits)]);
}

function repack(files: ZipFile[], match: (name: string) => boolean, edits: Edit[]): Buffer {
  return zipBytes(files.map((f) => (match(f.name) ? { ...f, data: applyEdits(f.data, edits) } : f)));
}

/** Runs the target and tallies how far each case got, so a suite whose cases all die at the first check shows. */
function tally(counts: Record<FuzzOutcome, number>, bytes: Uint8Array): void {
  counts[fuzzPytorchCheckpoint(bytes)]++;
}

function report(what: string, counts: Record<FuzzOutcome, number>, minimum: Partial<Record<FuzzOutcome, number>>): void {
  console.log(`fuzz ${what}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')} (seed ${SEED})`);
  for (const [k, v] of Object.entries(minimum)) expect(counts[k as FuzzOutcome], k).toBeGreaterThanOrEqual(v);
}

const zero = (): Record<FuzzOutcome, number> => ({ refused: 0, state_dict: 0, model: 0 });

const fixture = fc.integer({ min: 0, max: FIXTURES.length - 1 });
const edits = fc.array(edit, { minLength: 1, maxLength: 4 });
const options = { numRuns: RUNS, seed: SEED, endOnFailure: true };

describe('fuzz: mutated checkpoints give success or a TrmError, nothing else', () => {
  it('raw edits of the whole file, or of its zip directory', () => {
    const counts = zero();
    fc.assert(fc.property(fixture, edits, fc.boolean(), (f, e, tailOnly) => {
      const bytes = FIXTURES[f].bytes;
      tally(counts, tailOnly ? tailEdits(bytes, e) : applyEdits(bytes, e));
    }), options);
    report('raw edits', counts, { refused: RUNS / 10, state_dict: RUNS / 100 });
  });

  it('edits of data.pkl, repacked into a valid zip', () => {
    const counts = zero();
    fc.assert(fc.property(fixture, edits, (f, e) => {
      tally(counts, repack(FIXTURES[f].files, (name) => name.endsWith('/data.pkl'), e));
    }), options);
    report('data.pkl edits', counts, { refused: RUNS / 10, model: RUNS / 200 });
  });

  it('edits of one tensor record, its CRC made right', () => {
    const counts = zero();
    fc.assert(fc.property(fixture, fc.integer({ min: 0, max: 14 }), edits, (f, key, e) => {
      tally(counts, repack(FIXTURES[f].files, (name) => name.endsWith(`/data/${key}`), e));
    }), options);
    report('tensor record edits', counts, { refused: RUNS / 10, model: RUNS / 10 });
  });
});
