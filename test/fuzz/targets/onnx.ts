/**
 * The ONNX backend's model loading (lib/backends/onnx.ts): checkOnnxModel decodes the
 * protobuf and checks it against the weights; for one input in 40 that passes (200 in the smoke), the file goes
 * through OnnxBackend.create as a model directory's model.onnx would (onnxruntime parses
 * the graph). Seeds: the 'step' graph exported (lib/onnx) from the smallest shipped model
 * and from a tiny random model. Edits: byte-level.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { OnnxBackend, checkOnnxModel } from '../../../lib/backends/onnx';
import type { TrmConfig } from '../../../lib/model/config';
import { randomConfig, randomWeights } from '../../../lib/model/random';
import { parseSafetensors } from '../../../lib/model/safetensors';
import { loadWeights, type WeightMap } from '../../../lib/model/weights';
import { exportOnnx } from '../../../lib/onnx/exporter';
import { applyByteEdits, byteEdits, type ByteEdit } from '../mutate';
import { modelSeeds } from '../seeds';
import type { FuzzTarget } from '../target';

interface Seed {
  config: TrmConfig;
  weights: WeightMap;
  bytes: Uint8Array;
}

interface Input {
  seed: number;
  edits: ByteEdit[];
  session: boolean;
}

let seeds: Seed[] | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-fuzz-onnx-'));

function onnxSeeds(): Seed[] {
  if (seeds) return seeds;
  const smallest = modelSeeds()[0];
  const shipped = { config: smallest.config, weights: loadWeights(parseSafetensors(smallest.weightsBytes), smallest.config) };
  const tinyConfig = randomConfig({ seq_len: 4, vocab_size: 5, hidden_size: 8, num_heads: 2, puzzle_emb_ndim: 8, puzzle_emb_len: 1, num_puzzle_identifiers: 2 });
  const tiny = { config: tinyConfig, weights: randomWeights(tinyConfig, { seed: 4 }) };
  seeds = [tiny, shipped].map((s) => ({ ...s, bytes: exportOnnx(s.config, s.weights, { graph: 'step' }) }));
  return seeds;
}

export const onnxTarget: FuzzTarget<Input> = {
  name: 'onnx',
  share: 0.05,
  corpus: "the 'step' graph exported from the smallest shipped/golden model and from a tiny random model",
  arbitrary(smoke) {
    const all = onnxSeeds();
    // A session costs tens of milliseconds: one input in 40 in a full run, one in 200 in the smoke,
    // which also keeps to the tiny model's graph.
    return fc.tuple(fc.integer({ min: 0, max: smoke ? 0 : all.length - 1 }), fc.integer({ min: 0, max: smoke ? 199 : 39 })).chain(([i, n]) =>
      byteEdits(all[i].bytes.length).map((edits) => ({ seed: i, edits, session: n === 0 })));
  },
  async run(input) {
    const seed = onnxSeeds()[input.seed];
    const bytes = applyByteEdits(seed.bytes, input.edits);
    const session = input.session;
    const file = path.join(dir, 'model.onnx');
    checkOnnxModel(bytes, seed.config, seed.weights, file);
    if (!session) return;
    fs.writeFileSync(file, bytes);
    const backend = await OnnxBackend.create(seed.config, seed.weights, { threads: 1, modelFile: file });
    backend.dispose();
  },
  bytes: (input) => applyByteEdits(onnxSeeds()[input.seed].bytes, input.edits),
};
