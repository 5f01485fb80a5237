/**
 * The onnx backend through the public API: the same result shape as the native backend,
 * the async-only contract, loading `model.onnx` from a model directory, and every way that
 * file can be wrong (truncated, garbage, stale, from another model, missing an output, an
 * opset onnxruntime cannot run) giving a typed error without crashing anything.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, ModelFormatError, OptionError, createModel, createOnnxModel, exportOnnx, loadModel, writeModelDirectory } from '../../lib';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { relativeError } from '../helpers/golden';
import { REPO_ROOT } from '../helpers/paths';
import { rejection } from '../helpers/errors';

const config = randomConfig({
  seq_len: 9, vocab_size: 7, hidden_size: 24, num_heads: 2, halt_max_steps: 5, L_layers: 2,
  puzzle_emb_ndim: 24, puzzle_emb_len: 1, num_puzzle_identifiers: 3,
});
const weights = randomWeights(config, { seed: 5, qHeadStd: 1 / Math.sqrt(24), puzzleEmbStd: 0.5 });
const B = 4, S = config.seq_len, V = config.vocab_size;
const inputs = Int32Array.from({ length: B * S }, (_, i) => (i * 5 + 1) % V);
const puzzleIdentifiers = Int32Array.from([0, 1, 2, 1]);

let tmp: string;
let dir: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-onnx-'));
  dir = path.join(tmp, 'model');
  writeModelDirectory(dir, config, weights);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A model directory holding `bytes` as model.onnx, beside the test model. */
function dirWithOnnx(name: string, bytes: Uint8Array): string {
  const d = path.join(tmp, name);
  writeModelDirectory(d, config, weights);
  fs.writeFileSync(path.join(d, 'model.onnx'), bytes);
  return d;
}

function edit(bytes: Uint8Array, change: (m: onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  change(m);
  return onnx.ModelProto.encode(m).finish();
}

async function loadError(d: string): Promise<Error> {
  return (await rejection(loadModel(d, { backend: 'onnx', threads: 1 }).then((m) => m.dispose()))) as Error;
}

describe('onnx backend: results', () => {
  it('answers with the native result shape and values', async () => {
    const native = createModel(config, weights, { threads: 2 });
    const model = await createOnnxModel(config, weights, { threads: 2 });
    expect(model.info).toEqual({ backend: 'onnx', device: 'cpu', isa: 'onnxruntime-cpu', threads: 2, precision: 'fp32', bf16Compute: null, int8Compute: null, linearKernel: null, amxUnavailable: null, oneThreadBelowBatch: null });
    const options = { haltThreshold: 0.5, maxSteps: 4, trace: 'logits' as const, returnCarry: true };
    const a = native.inferSync({ inputs, puzzleIdentifiers }, options);
    const b = await model.infer({ inputs, puzzleIdentifiers }, options);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const key of Object.keys(a) as (keyof typeof a)[]) {
      const x = a[key], y = b[key];
      if (ArrayBuffer.isView(x)) {
        expect(y?.constructor).toBe(x.constructor);
        expect((y as Float32Array).length).toBe((x as Float32Array).length);
      }
    }
    expect(b.trace!.map((r) => Object.keys(r).sort())).toEqual(a.trace!.map((r) => Object.keys(r).sort()));
    expect(b.carry!.zH.length).toBe(a.carry!.zH.length);
    expect(Array.from(b.steps)).toEqual(Array.from(a.steps));
    expect(Array.from(b.predictions)).toEqual(Array.from(a.predictions));
    expect(relativeError(b.logits, a.logits)).toBeLessThan(1e-4);
    expect(b.trace).toHaveLength(a.trace!.length);
    native.dispose();
    model.dispose();
  });

  it('runs only the recursion depth its graph was exported with: another is an OptionError naming the field', async () => {
    const native = createModel(config, weights, { threads: 2 });
    const model = await createOnnxModel(config, weights, { threads: 2 });
    const trained = { hCycles: config.H_cycles, lCycles: config.L_cycles, maxSteps: 2 };
    const b = await model.infer({ inputs, puzzleIdentifiers }, trained);
    expect(relativeError(b.logits, native.inferSync({ inputs, puzzleIdentifiers }, trained).logits)).toBeLessThan(1e-4);
    for (const [field, value] of [['hCycles', config.H_cycles + 1], ['lCycles', 1 + (config.L_cycles % 3)]] as const) {
      const error = await model.infer({ inputs }, { [field]: value }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptionError);
      expect((error as OptionError).field).toBe(field);
      expect((error as OptionError).message).toMatch(/exported with.*'native' backend for another depth/);
    }
    // Out of range is caught before the backend, as on native.
    await expect(model.infer({ inputs }, { hCycles: 0 })).rejects.toThrow(/field: hCycles/);
    expect((await model.infer({ inputs, puzzleIdentifiers }, trained)).logits).toEqual(b.logits);
    native.dispose();
    model.dispose();
  });

  it('inferSync throws BackendError and leaves the model usable', async () => {
    const model = await createOnnxModel(config, weights, { threads: 1 });
    expect(() => model.inferSync({ inputs })).toThrow(BackendError);
    expect(() => model.inferSync({ inputs })).toThrow(/inferSync is not available on the onnx backend; use infer/);
    expect((await model.infer({ inputs }, { maxSteps: 1 })).steps[0]).toBe(1);
    model.dispose();
  });

  it('checks inputs like the native backend, and rejects calls after dispose', async () => {
    const model = await createOnnxModel(config, weights, { threads: 1 });
    await expect(model.infer({ inputs: new Int32Array(S).fill(V) })).rejects.toThrow(/outside the vocabulary/);
    const pending = model.infer({ inputs }, { maxSteps: 3 });
    model.dispose();
    expect((await pending).steps[0]).toBe(3); // an inference already running finishes first
    await expect(model.infer({ inputs })).rejects.toThrow(BackendError);
  });

  it('concurrent calls each get their own answer', async () => {
    const model = await createOnnxModel(config, weights, { threads: 2 });
    const calls = [1, 2, 3, 4].map((k) => ({ k, p: model.infer({ inputs: inputs.map((t) => (t + k) % V) }, { maxSteps: k }) }));
    const results = await Promise.all(calls.map((c) => c.p));
    for (const [i, { k }] of calls.entries()) {
      const alone = await model.infer({ inputs: inputs.map((t) => (t + k) % V) }, { maxSteps: k });
      expect(results[i].logits).toEqual(alone.logits);
    }
    model.dispose();
  });

  it('load options: isa is native-only, createModel is native-only, unknown backends are errors', async () => {
    await expect(loadModel(dir, { backend: 'onnx', isa: 'scalar' })).rejects.toThrow(OptionError);
    expect(() => createModel(config, weights, { backend: 'onnx' })).toThrow(OptionError);
    await expect(loadModel(dir, { backend: 'gpu' as 'onnx' })).rejects.toThrow(OptionError);
    await expect(createOnnxModel(config, weights, { threads: 0 })).rejects.toThrow(OptionError);
  });
});

describe('onnx backend: model directories', () => {
  it('without model.onnx, exports in memory', async () => {
    const model = await loadModel(dir, { backend: 'onnx', threads: 1 });
    expect(model.info.backend).toBe('onnx');
    expect((await model.infer({ inputs, puzzleIdentifiers })).steps).toEqual(new Int32Array(B).fill(config.halt_max_steps));
    model.dispose();
  });

  it('loads a model.onnx exported from these weights', async () => {
    const d = dirWithOnnx('good', exportOnnx(config, weights));
    const model = await loadModel(d, { backend: 'onnx', threads: 1 });
    const memory = await createOnnxModel(config, weights, { threads: 1 });
    const a = await model.infer({ inputs, puzzleIdentifiers }, { maxSteps: 2 });
    const b = await memory.infer({ inputs, puzzleIdentifiers }, { maxSteps: 2 });
    expect(a.logits).toEqual(b.logits);
    model.dispose();
    memory.dispose();
  });

  it('a truncated model.onnx is a ModelFormatError naming the file', async () => {
    const bytes = exportOnnx(config, weights);
    const d = dirWithOnnx('truncated', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e = await loadError(d);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toMatch(/model\.onnx/);
    expect((e as ModelFormatError).file).toBe(path.join(d, 'model.onnx'));
  });

  it('garbage and empty files are ModelFormatErrors', async () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff);
    expect(await loadError(dirWithOnnx('garbage', garbage))).toBeInstanceOf(ModelFormatError);
    expect(await loadError(dirWithOnnx('empty', new Uint8Array(0)))).toBeInstanceOf(ModelFormatError);
  });

  it('a model.onnx from another model is reported as stale, with how to re-export', async () => {
    const other = randomWeights(config, { seed: 6, qHeadStd: 0.2 });
    const e = await loadError(dirWithOnnx('foreign', exportOnnx(config, other)));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toMatch(/stale or from another model/);
    expect(e.message).toMatch(/trm export-onnx/);
  });

  it('detects a model.onnx left stale by new weights, and a re-export fixes it', async () => {
    const d = dirWithOnnx('stale', exportOnnx(config, weights));
    const retrained = randomWeights(config, { seed: 8, qHeadStd: 0.2 });
    writeModelDirectory(d, config, retrained);
    expect((await loadError(d)).message).toMatch(/stale/);
    fs.writeFileSync(path.join(d, 'model.onnx'), exportOnnx(config, retrained));
    const model = await loadModel(d, { backend: 'onnx', threads: 1 });
    model.dispose();
  });

  it('a model.onnx missing an output is a ModelFormatError', async () => {
    const bytes = edit(exportOnnx(config, weights), (m) => {
      m.graph!.output = m.graph!.output.filter((o) => o.name !== 'q_continue');
    });
    const e = await loadError(dirWithOnnx('no-output', bytes));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toMatch(/q_continue/);
  });

  it('a model.onnx without metadata, or holding the run graph, is a ModelFormatError', async () => {
    const bare = edit(exportOnnx(config, weights), (m) => { m.metadataProps = []; });
    expect((await loadError(dirWithOnnx('no-meta', bare))).message).toMatch(/trm\.fingerprint/);
    const run = exportOnnx(config, weights, { graph: 'run', steps: 2 });
    expect((await loadError(dirWithOnnx('run-graph', run))).message).toMatch(/'step' graph/);
  });

  it('an opset onnxruntime cannot run is a typed error with its message, and nothing crashes', async () => {
    const bytes = edit(exportOnnx(config, weights), (m) => { m.opsetImport = [{ domain: '', version: 99 }]; });
    const e = await loadError(dirWithOnnx('opset-99', bytes));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toMatch(/onnxruntime cannot load the graph/);
    // The process and other models are unharmed.
    const model = await createOnnxModel(config, weights, { threads: 1 });
    expect((await model.infer({ inputs }, { maxSteps: 1 })).steps[0]).toBe(1);
    model.dispose();
  });
});

describe('trm export-onnx (needs `npm run build`)', () => {
  const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
  // A dist/ older than the CLI sources would test yesterday's CLI: skip, saying why.
  const built = fs.existsSync(cli) && ['cli.ts', 'cli/export-onnx.ts', 'cli/common.ts']
    .every((f) => fs.statSync(cli).mtimeMs >= fs.statSync(path.join(REPO_ROOT, 'lib', f)).mtimeMs);
  if (!built) console.log('skipping the export-onnx CLI test: dist/cli.js is missing or older than lib/cli.ts or lib/cli/ (run `npm run build:ts`)');
  it.skipIf(!built)('writes model.onnx that loadModel picks up', async () => {
    const d = path.join(tmp, 'cli');
    writeModelDirectory(d, config, weights);
    const r = spawnSync(process.execPath, [cli, 'export-onnx', d], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(d, 'model.onnx'))).toBe(true);
    const model = await loadModel(d, { backend: 'onnx', threads: 1 });
    expect((await model.infer({ inputs, puzzleIdentifiers }, { maxSteps: 1 })).steps).toEqual(new Int32Array(B).fill(1));
    model.dispose();
    const bad = spawnSync(process.execPath, [cli, 'export-onnx', d, '--graph', 'loop'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/OptionError/);
  });
});
