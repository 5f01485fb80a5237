/**
 * What the official fixtures do not cover, on checkpoints built by this test with
 * test/helpers/torch-writer.ts (no Python torch is installed here, so not by torch.save; the
 * writer follows torch.save's layout, and its pickles were checked to load with Python's own
 * pickle module): views (storage offsets, transposed and strided storages, several tensors in
 * one storage), F16, BF16 and F64 storages, protocol 4, nn.Parameter wrapping, ZIP64, and a
 * large puzzle table read lazily.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importCheckpoint, readModelDirectory } from '../../lib';
import { checkpointModelFromBytes } from '../../lib/model/pytorch/checkpoint';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { expectedTensors } from '../../lib/model/weights';
import { Layout, ModelCheckpointOptions, PAD_VALUE, StorageDType, checkpointFiles, f32Bytes, modelCheckpoint, stateDictPickle, zipParts } from '../helpers/torch-writer';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-import-reader-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const CONFIG = randomConfig({ seq_len: 5, vocab_size: 7, hidden_size: 16, num_heads: 2, puzzle_emb_ndim: 24, puzzle_emb_len: 0, num_puzzle_identifiers: 3, L_layers: 2 });
const LAYERS = [{ label: 'test arch', values: { ...CONFIG } }];

/** Weights quantized to a grid every storage dtype holds exactly: k / 128 with |k| <= 255. */
function exactWeights(seed: number): Record<string, Float32Array> {
  const weights = randomWeights(CONFIG, { seed, qHeadStd: 0.1, puzzleEmbStd: 0.5 });
  for (const data of Object.values(weights)) {
    for (let i = 0; i < data.length; i++) data[i] = Math.max(-255, Math.min(255, Math.round(data[i] * 128))) / 128;
  }
  return weights;
}

function shapes(): Record<string, number[]> {
  return Object.fromEntries(expectedTensors(CONFIG).map((s) => [s.name, s.shape]));
}

function expectSameWeights(got: Record<string, Float32Array>, want: Record<string, Float32Array>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [name, data] of Object.entries(want)) {
    const g = got[name];
    let firstDiff = -1;
    for (let i = 0; i < data.length && firstDiff < 0; i++) if (g[i] !== data[i]) firstDiff = i;
    expect(firstDiff, `${name} differs first at ${firstDiff}`).toBe(-1);
  }
}

const LAYOUTS: Layout[] = ['contiguous', 'offset', 'strided', 'shared'];

describe('views, dtypes and pickle variants', () => {
  const weights = exactWeights(3);
  const cycle = (name: string): Layout => LAYOUTS[[...name].reduce((h, c) => h + c.charCodeAt(0), 0) % LAYOUTS.length];

  it.each(LAYOUTS)('every tensor %s in its storage reads back exactly', (layout) => {
    const bytes = modelCheckpoint(weights, shapes(), { layout: () => layout, prefix: '_orig_mod.model.' });
    expectSameWeights(checkpointModelFromBytes(bytes, LAYERS).weights, weights);
  });

  it.each<StorageDType>(['F32', 'BF16', 'F16', 'F64'])('%s storages, layouts mixed, convert to the same float32 values', (dtype) => {
    const bytes = modelCheckpoint(weights, shapes(), { dtype, layout: cycle, prefix: 'model.' });
    expectSameWeights(checkpointModelFromBytes(bytes, LAYERS).weights, weights);
  });

  it.each<Partial<ModelCheckpointOptions>>([
    { protocol: 4 },
    { parameters: true },
    { protocol: 4, parameters: true, layout: cycle },
  ])('pickle variant %o reads the same', (variant) => {
    const bytes = modelCheckpoint(weights, shapes(), variant);
    expectSameWeights(checkpointModelFromBytes(bytes, LAYERS).weights, weights);
  });

  it('reads only the span each view covers: NaN in the padding around every view is never seen', () => {
    const bytes = Buffer.from(modelCheckpoint(weights, shapes(), { layout: () => 'offset' }));
    const pad = Buffer.alloc(4);
    pad.writeFloatLE(PAD_VALUE);
    let replaced = 0;
    for (let at = bytes.indexOf(pad); at >= 0; at = bytes.indexOf(pad, at + 1)) {
      if (at % 4 === 0) { bytes.writeFloatLE(NaN, at); replaced++; }
    }
    expect(replaced).toBe(Object.keys(weights).length * 10);
    // The records changed, but a CRC is checked only when a whole record is read, which a padded view never does.
    expectSameWeights(checkpointModelFromBytes(bytes, LAYERS).weights, weights);
  });
});

describe('a large puzzle table, ZIP64', () => {
  it('imports a 64 MiB puzzle table from a ZIP64 archive, row for row', () => {
    const ids = 1 << 19;
    const config = randomConfig({ seq_len: 4, vocab_size: 5, hidden_size: 32, num_heads: 2, puzzle_emb_ndim: 32, puzzle_emb_len: 1, num_puzzle_identifiers: ids });
    const weights = randomWeights(config, { seed: 5, qHeadStd: 0.1 });
    // Each row holds its own index, so a row read from the wrong place shows.
    const table = weights['inner.puzzle_emb.weights'];
    for (let r = 0; r < ids; r++) for (let c = 0; c < 32; c++) table[r * 32 + c] = r + c / 8; // exact in float32 for every row
    const shapeOf = new Map(expectedTensors(config).map((s) => [s.name, s.shape]));
    const entries = Object.keys(weights).map((name, i) => {
      const shape = shapeOf.get(name)!;
      return { name: `_orig_mod.model.${name}`, storage: { kind: 'FloatStorage', key: String(i), numel: weights[name].length }, offset: 0, shape, stride: shape.length === 2 ? [shape[1], 1] : [1] };
    });
    const records = new Map(Object.keys(weights).map((name, i) => [String(i), f32Bytes(weights[name])]));
    const file = path.join(work, 'big', 'step_7');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Written part by part, so the test itself holds the table once.
    const fd = fs.openSync(file, 'w');
    for (const part of zipParts(checkpointFiles(stateDictPickle(entries), records, { stem: 'step_7' }), { zip64: true })) fs.writeSync(fd, part);
    fs.closeSync(fd);

    // The arch and seq_len as all_config.yaml and dataset.json would give them; the table's rows say num_puzzle_identifiers.
    const { num_puzzle_identifiers: _, vocab_size: __, ...arch } = config;
    const out = path.join(work, 'big-model');
    const result = importCheckpoint(path.dirname(file), { out, config: arch as Record<string, unknown> });
    expect(result.importedFrom.step).toBe(7);
    expect(result.config.num_puzzle_identifiers).toBe(ids);
    expect(result.importedFrom.read_from.num_puzzle_identifiers).toMatch(/rows of _orig_mod\.model\.inner\.puzzle_emb\.weights/);
    const back = readModelDirectory(out).weights['inner.puzzle_emb.weights'];
    expect(back.length).toBe(ids * 32);
    for (const r of [0, 1, 4095, 65536, ids - 1]) {
      expect(Array.from(back.subarray(r * 32, r * 32 + 3))).toEqual([r, r + 1 / 8, r + 2 / 8]);
    }
  });
});
