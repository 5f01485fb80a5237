/**
 * The safetensors reader and weight loading (lib/model/safetensors.ts, lib/model/weights.ts),
 * then, for one input in eight that loads, the native model's own checks and one inference.
 * Seeds: every shipped and golden model's model.safetensors with its config. Edits: bytes
 * (half of them inside the header), the header length, and structured edits of the header
 * JSON (dtype, shape, data_offsets, names), the file rebuilt around the edited header.
 */
import fc from 'fast-check';
import { createModel } from '../../../lib/trm-model';
import { parseSafetensors } from '../../../lib/model/safetensors';
import { loadWeights } from '../../../lib/model/weights';
import { applyByteEdits, applyJsonEdits, byteEdits, jsonEdit, type ByteEdit, type JsonEdit } from '../mutate';
import { modelSeeds } from '../seeds';
import type { FuzzTarget } from '../target';

const FLOAT = new Set(['F32', 'BF16', 'F16', 'F64']);

/** A seed and what to do to it; the bytes are built when the input runs. */
interface Input {
  seed: number;
  edit: { kind: 'bytes'; edits: ByteEdit[] } | { kind: 'header'; edits: JsonEdit[]; lengthDelta: number } | { kind: 'length'; length: bigint };
  native: boolean;
}

function headerEnd(bytes: Uint8Array): number {
  return 8 + Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readBigUInt64LE(0));
}

const HUGE_LENGTHS = [0n, 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
let headers: unknown[] | undefined;

function build({ seed, edit }: Input): Buffer {
  const bytes = modelSeeds()[seed].weightsBytes;
  switch (edit.kind) {
    case 'bytes': return applyByteEdits(bytes, edit.edits);
    case 'header': {
      headers ??= modelSeeds().map((s) => JSON.parse(s.weightsBytes.subarray(8, headerEnd(s.weightsBytes)).toString('utf8')));
      const header = Buffer.from(applyJsonEdits(headers[seed], edit.edits));
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(Math.max(0, header.length + edit.lengthDelta)));
      return Buffer.concat([length, header, bytes.subarray(headerEnd(bytes))]);
    }
    case 'length': {
      const out = Buffer.from(bytes);
      out.writeBigUInt64LE(edit.length, 0);
      return out;
    }
  }
}

export const safetensorsTarget: FuzzTarget<Input> = {
  name: 'safetensors',
  share: 0.1,
  corpus: 'models/*/model.safetensors and ../shared/golden/*/model.safetensors, with their config.json',
  arbitrary(smoke) {
    const seeds = modelSeeds();
    // Seeds are sorted by size; the smoke keeps to those under 600 kB.
    const last = smoke ? Math.max(0, seeds.filter((s) => s.weightsBytes.length < 600_000).length - 1) : seeds.length - 1;
    const edit = fc.integer({ min: 0, max: last }).chain((seed) => {
      const bytes = seeds[seed].weightsBytes;
      return fc.oneof(
        { weight: 5, arbitrary: byteEdits(bytes.length, headerEnd(bytes)).map((edits) => ({ kind: 'bytes' as const, edits })) },
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('header' as const), edits: fc.array(jsonEdit, { minLength: 1, maxLength: 4 }), lengthDelta: fc.constantFrom(0, 0, 0, -1, 1, 7) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('length' as const), length: fc.constantFrom(...HUGE_LENGTHS) }) },
      ).map((e) => ({ seed, edit: e }));
    });
    return fc.tuple(edit, fc.integer({ min: 0, max: 7 })).map(([e, n]) => ({ ...e, native: n === 0 }));
  },
  run(input) {
    const config = modelSeeds()[input.seed].config;
    const file = parseSafetensors(build(input), 'fuzz/model.safetensors');
    // loadWeights converts the float tensors; the integer reader is exercised here.
    for (const [name, info] of file.tensors) {
      if (!FLOAT.has(info.dtype)) file.toInt32(name);
    }
    const weights = loadWeights(file, config);
    if (!input.native) return;
    const model = createModel(config, weights, { threads: 1 });
    try {
      model.inferSync({ inputs: new Int32Array(config.seq_len) }, { maxSteps: 1 });
    } finally {
      model.dispose();
    }
  },
  bytes: build,
};
