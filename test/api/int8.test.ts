/**
 * `precision: 'int8'` through the public API and the CLI: the onnx backend exporting the
 * int8 graph in memory or loading DIR/model.int8.onnx (checked for its precision), the
 * export option's errors, `trm quantize`, `trm info` naming the file's precision and
 * `trm export-onnx --precision int8`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError, OptionError, createModel, createOnnxModel, exportOnnx, loadModel, quantizeModelDir, writeModelDirectory } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { cliIsFresh, trm } from '../helpers/cli';
import { REPO_ROOT } from '../helpers/paths';

const config = randomConfig({ seq_len: 9, vocab_size: 7, hidden_size: 24, num_heads: 2, halt_max_steps: 4, L_layers: 2 });
const weights = randomWeights(config, { seed: 8, qHeadStd: 1 / Math.sqrt(24) });
const B = 3;
const inputs = Int32Array.from({ length: B * config.seq_len }, (_, i) => (i * 3 + 2) % config.vocab_size);

let tmp: string;
let counter = 0;
function modelDir(files: Record<string, Uint8Array> = {}): string {
  const d = path.join(tmp, `m${counter++}`);
  writeModelDirectory(d, config, weights);
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(d, name), bytes);
  return d;
}
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-int8-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function onnxError(d: string, precision: 'fp32' | 'int8'): Promise<Error> {
  try {
    (await loadModel(d, { backend: 'onnx', threads: 1, precision })).dispose();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`loading ${d} in ${precision} did not fail`);
}

describe('onnx backend in int8', () => {
  it('exports the int8 graph in memory, or loads DIR/model.int8.onnx, with the same answers', async () => {
    const memory = await loadModel(modelDir(), { backend: 'onnx', threads: 1, precision: 'int8' });
    expect(memory.info).toMatchObject({ backend: 'onnx', precision: 'int8' });
    const file = await loadModel(modelDir({ 'model.int8.onnx': exportOnnx(config, weights, { precision: 'int8' }) }), { backend: 'onnx', threads: 1, precision: 'int8' });
    const fp32 = await createOnnxModel(config, weights, { threads: 1 });
    const a = await memory.infer({ inputs }, { maxSteps: 2 });
    const b = await file.infer({ inputs }, { maxSteps: 2 });
    const c = await fp32.infer({ inputs }, { maxSteps: 2 });
    expect(b.logits).toEqual(a.logits);
    // int8 is not fp32 under another name.
    expect(a.logits).not.toEqual(c.logits);
    for (const m of [memory, file, fp32]) m.dispose();
  });

  it('a graph of the other precision under either file name is a ModelFormatError saying how to re-export', async () => {
    const fp32AsInt8 = await onnxError(modelDir({ 'model.int8.onnx': exportOnnx(config, weights) }), 'int8');
    expect(fp32AsInt8).toBeInstanceOf(ModelFormatError);
    expect((fp32AsInt8 as ModelFormatError).field).toBe('trm.precision');
    expect(fp32AsInt8.message).toMatch(/--precision int8/);
    const int8AsFp32 = await onnxError(modelDir({ 'model.onnx': exportOnnx(config, weights, { precision: 'int8' }) }), 'fp32');
    expect((int8AsFp32 as ModelFormatError).field).toBe('trm.precision');
    // An int8 graph beside the weights does not stop the fp32 default from loading.
    (await loadModel(modelDir({ 'model.int8.onnx': exportOnnx(config, weights, { precision: 'int8' }) }), { backend: 'onnx', threads: 1 })).dispose();
  });

  it('a stale model.int8.onnx is caught by its fingerprint like model.onnx', async () => {
    const other = randomWeights(config, { seed: 9 });
    const e = await onnxError(modelDir({ 'model.int8.onnx': exportOnnx(config, other, { precision: 'int8' }) }), 'int8');
    expect((e as ModelFormatError).field).toBe('trm.fingerprint');
  });

  it('option errors: an unknown export precision, an unknown load precision, bf16 on onnx', async () => {
    expect(() => exportOnnx(config, weights, { precision: 'int4' as 'int8' })).toThrow(OptionError);
    await expect(loadModel(modelDir(), { backend: 'onnx', precision: 'fp8' as 'int8' })).rejects.toThrow(/precision/);
    await expect(createOnnxModel(config, weights, { precision: 'bf16' })).rejects.toThrow(OptionError);
  });

  it('a quantized directory runs native int8 by default, and the native engines that lack it refuse it by name', async () => {
    const quantized = path.join(tmp, `q${counter++}`);
    quantizeModelDir(modelDir(), quantized);
    const model = await loadModel(quantized, { threads: 1 });
    expect(model.info.precision).toBe('int8');
    expect(model.info.int8Compute).not.toBeNull();
    model.dispose();
    expect(() => createModel(config, weights, { device: 'cuda', precision: 'int8' })).toThrow(OptionError);
  });
});

const built = cliIsFresh(['lib/cli.ts', 'lib/cli', 'lib/model', 'lib/onnx', 'lib/backends']);
if (!built) console.log('skipping the int8 CLI tests: dist/cli.js is missing or older than lib/ (run `npm run build:ts`)');

describe.skipIf(!built)('int8 on the command line', () => {
  it('trm quantize writes the int8 directory, and trm info names its precision', () => {
    const src = modelDir();
    const out = path.join(tmp, 'quantized');
    const r = trm(['quantize', src, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/9 Linear weights in int8; model\.safetensors [0-9.]+ KiB \([0-9.]+% of the source's/);
    const info = JSON.parse(trm(['info', out, '--backend', 'onnx', '--threads', '1']).stdout);
    expect(info).toMatchObject({ precision: 'int8', filePrecision: 'int8', quantization: 'int8-symmetric-per-channel' });
    const plain = JSON.parse(trm(['info', src, '--backend', 'onnx', '--threads', '1']).stdout);
    expect(plain).toMatchObject({ precision: 'fp32', filePrecision: 'fp32', quantization: null });
  });

  it('trm quantize without --out, or onto its source, is an OptionError', () => {
    const src = modelDir();
    for (const args of [['quantize', src], ['quantize', src, '--out', src]]) {
      const r = trm(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/OptionError/);
    }
  });

  it('trm export-onnx --precision int8 writes model.int8.onnx, which loadModel then uses', async () => {
    const d = modelDir();
    const r = trm(['export-onnx', d, '--precision', 'int8']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model\.int8\.onnx: step graph, int8, opset 17/);
    expect(fs.existsSync(path.join(d, 'model.onnx'))).toBe(false);
    // Break the file: if loadModel reads it, the break shows.
    fs.truncateSync(path.join(d, 'model.int8.onnx'), 100);
    expect(await onnxError(d, 'int8')).toBeInstanceOf(ModelFormatError);
    const bad = trm(['export-onnx', d, '--precision', 'bf16']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/OptionError.*--precision/);
  });

  it('trm eval on a quantized shipped model runs int8 by default and --precision fp32 when asked', () => {
    const out = path.join(tmp, 'sudoku-4x4-int8');
    expect(trm(['quantize', path.join(REPO_ROOT, 'models', 'sudoku-4x4'), '--out', out]).status).toBe(0);
    for (const [args, precision] of [[[], 'int8'], [['--precision', 'fp32'], 'fp32']] as const) {
      const r = trm(['eval', out, '--count', '8', '--backend', 'onnx', '--threads', '1', '--json', ...args]);
      expect(r.stderr).toBe('');
      const result = JSON.parse(r.stdout);
      expect(result).toMatchObject({ backend: 'onnx', precision, task: 'sudoku4' });
      expect(result.fixed.count).toBe(8);
    }
  });
});
