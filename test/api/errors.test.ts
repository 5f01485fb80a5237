/**
 * Bad input gets a typed error naming the field, never a crash, and never damages the
 * loaded model: after every rejected call the model still gives its earlier answer.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError, createModel, InputError, loadModel, ModelFormatError, OptionError } from '../../lib';
import { loadAddon } from '../../lib/native/addon';
import { nativeSpec } from '../../lib/backends/native';
import { createRandomModel, randomConfig, randomWeights } from '../../lib/model/random';
import { expectThrows } from '../helpers/errors';

const config = randomConfig({ seq_len: 6, vocab_size: 5, hidden_size: 16, num_heads: 2, puzzle_emb_ndim: 16, puzzle_emb_len: 1, num_puzzle_identifiers: 3 });
const weights = randomWeights(config, { seed: 3, puzzleEmbStd: 0.25 });
const model = createModel(config, weights, { threads: 2 });
const inputs = Int32Array.from({ length: 2 * 6 }, (_, i) => i % 5);
const baseline = model.inferSync({ inputs }, { maxSteps: 2 });
const carrySize = 2 * 7 * 16;

function expectStillHealthy(): void {
  expect(model.inferSync({ inputs }, { maxSteps: 2 }).logits).toEqual(baseline.logits);
}

function rejects(fn: () => unknown, type: new (...a: never[]) => Error, field: string | RegExp): void {
  expectThrows(fn, type, field);
  expectStillHealthy();
}

describe('infer inputs', () => {
  const cases: Array<[string, unknown, string]> = [
    ['token above the vocabulary', { inputs: Int32Array.from(inputs, (t, i) => (i === 7 ? 5 : t)) }, 'inputs[1][1]'],
    ['negative token', { inputs: Int32Array.from(inputs, (t, i) => (i === 0 ? -1 : t)) }, 'inputs[0][0]'],
    ['flat length not a multiple of seq_len', { inputs: new Int32Array(7) }, 'inputs'],
    ['empty inputs', { inputs: [] }, 'inputs'],
    ['a row of the wrong length', { inputs: [[0, 1, 2, 3, 4, 0], [0, 1]] }, 'inputs[1]'],
    ['a non-integer token', { inputs: [[0, 1, 2.5, 3, 4, 0]] }, 'inputs[0][2]'],
    ['inputs of the wrong type', { inputs: 'abc' }, 'inputs'],
    ['puzzle id out of range', { inputs, puzzleIdentifiers: [0, 3] }, 'puzzleIdentifiers[1]'],
    ['puzzle ids of the wrong count', { inputs, puzzleIdentifiers: [0] }, 'puzzleIdentifiers'],
    ['carry of the wrong size', { inputs, carry: { zH: new Float32Array(10), zL: new Float32Array(10) } }, 'carry.zH'],
    ['carry half missing', { inputs, carry: { zH: new Float32Array(carrySize) } }, 'carry.zL'],
    ['carry with NaN', { inputs, carry: { zH: new Float32Array(carrySize).fill(NaN), zL: new Float32Array(carrySize) } }, 'carry.zH[0]'],
    ['carry as a plain array', { inputs, carry: { zH: [1, 2], zL: [1, 2] } }, 'carry.zH'],
    ['an unknown input field', { inputs, puzzleIds: [0, 0] }, 'puzzleIds'],
  ];
  it.each(cases)('%s -> InputError', (_label, input, field) => {
    rejects(() => model.inferSync(input as never), InputError, field);
  });

  it('rejects asynchronously too, with the same error', async () => {
    await expect(model.infer({ inputs: new Int32Array(5) })).rejects.toBeInstanceOf(InputError);
    expectStillHealthy();
  });
});

describe('infer options', () => {
  const cases: Array<[string, unknown, string]> = [
    ['maxSteps 0', { maxSteps: 0 }, 'maxSteps'],
    ['maxSteps fractional', { maxSteps: 1.5 }, 'maxSteps'],
    ['maxSteps absurd', { maxSteps: 1e9 }, 'maxSteps'],
    ['minSteps above maxSteps', { maxSteps: 2, minSteps: 3 }, 'minSteps'],
    ['haltThreshold above 1', { haltThreshold: 1.5 }, 'haltThreshold'],
    ['haltThreshold NaN', { haltThreshold: NaN }, 'haltThreshold'],
    ['confidenceThreshold above 1', { confidenceThreshold: 1.01 }, 'confidenceThreshold'],
    ['confidenceThreshold negative', { confidenceThreshold: -0.1 }, 'confidenceThreshold'],
    ['confidenceThreshold a string', { confidenceThreshold: '0.9' }, 'confidenceThreshold'],
    ['stableSteps 0', { stableSteps: 0 }, 'stableSteps'],
    ['stableSteps fractional', { stableSteps: 1.5 }, 'stableSteps'],
    ['stableSteps absurd', { stableSteps: 1e9 }, 'stableSteps'],
    ['hCycles 0', { hCycles: 0 }, 'hCycles'],
    ['hCycles above MAX_CYCLES', { hCycles: 257 }, 'hCycles'],
    ['hCycles null', { hCycles: null }, 'hCycles'],
    ['lCycles fractional', { lCycles: 2.5 }, 'lCycles'],
    ['lCycles a string', { lCycles: '3' }, 'lCycles'],
    ['trace of an unknown kind', { trace: 'all' }, 'trace'],
    ['returnCarry not boolean', { returnCarry: 1 }, 'returnCarry'],
    ['a misspelt option', { maxstep: 3 }, 'maxstep'],
  ];
  it.each(cases)('%s -> OptionError', (_label, options, field) => {
    rejects(() => model.inferSync({ inputs }, options as never), OptionError, field);
  });
});

describe('loading', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it.each<[string, unknown, string]>([
    ['threads 0', { threads: 0 }, 'threads'],
    ['an unknown isa', { isa: 'neon' }, 'isa'],
    ['an unknown backend', { backend: 'tpu' }, 'backend'],
    ['a misspelt option', { thread: 2 }, 'thread'],
  ])('%s -> OptionError', (_label, options, field) => {
    rejects(() => createModel(config, weights, options as never), OptionError, field);
  });

  it('TRM_ISA naming an unusable ISA is an OptionError', () => {
    process.env.TRM_ISA = 'sparc';
    try {
      rejects(() => createModel(config, weights), OptionError, 'TRM_ISA');
    } finally {
      delete process.env.TRM_ISA;
    }
  });

  it('a missing directory and a corrupt model file give ModelFormatError', async () => {
    await expect(loadModel('/nonexistent/trm-model')).rejects.toBeInstanceOf(ModelFormatError);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-errors-'));
    dirs.push(dir);
    createRandomModel(dir, config, { seed: 1 });
    const file = path.join(dir, 'model.safetensors');
    fs.truncateSync(file, fs.statSync(file).size - 100);
    await expect(loadModel(dir)).rejects.toThrow(/beyond the end of the file/);
  });

  it('the native layer itself rejects inconsistent weights with an error, not a crash', () => {
    const { NativeModel } = loadAddon();
    const short = { ...weights, 'inner.lm_head.weight': new Float32Array(3) };
    expect(() => new NativeModel(nativeSpec(config), short, { threads: 1 })).toThrow(/inner.lm_head.weight has 3 elements/);
    const nan = { ...weights, 'inner.H_init': new Float32Array(16).fill(NaN) };
    expect(() => new NativeModel(nativeSpec(config), nan, { threads: 1 })).toThrow(/non-finite/);
    const missing: Record<string, Float32Array> = { ...weights };
    delete missing['inner.q_head.bias'];
    expect(() => new NativeModel(nativeSpec(config), missing, { threads: 1 })).toThrow(/missing tensor inner.q_head.bias/);
    expect(() => new NativeModel(nativeSpec(config), { x: [1, 2] } as never, { threads: 1 })).toThrow(/Float32Array/);
  });

  it('the native layer rejects out-of-range requests that bypass the TypeScript checks', () => {
    const handle = new (loadAddon().NativeModel)(nativeSpec(config), weights, { threads: 1 });
    const request = {
      batch: 2, inputs, maxSteps: 1, minSteps: 1, haltThreshold: null, confidenceThreshold: null, stableSteps: null,
      hCycles: config.H_cycles, lCycles: config.L_cycles, trace: false, traceLogits: false, returnCarry: false,
    };
    expect(() => handle.inferSync({ ...request, inputs: new Int32Array(12).fill(9) })).toThrow(/outside \[0, vocab_size\)/);
    expect(() => handle.inferSync({ ...request, batch: 3 })).toThrow(/batch \* seq_len/);
    expect(() => handle.inferSync({ ...request, puzzleIdentifiers: Int32Array.of(0, 7) })).toThrow(/out of range/);
    expect(() => handle.inferSync({ ...request, inputs: new Float32Array(12) as never })).toThrow(/Int32Array/);
    expect(() => handle.inferSync({ ...request, confidenceThreshold: 1.5 })).toThrow(/confidence_threshold must be in \[0, 1\]/);
    expect(() => handle.inferSync({ ...request, stableSteps: -1 })).toThrow(/stable_steps/);
    expect(() => handle.inferSync({ ...request, hCycles: 257 })).toThrow(/h_cycles must be in \[1, 256\]/);
    expect(() => handle.inferSync({ ...request, lCycles: -2 })).toThrow(/l_cycles/);
    expect(() => handle.inferSync({ ...request, stableSteps: 'x' as never })).toThrow(/stableSteps must be a number/);
    handle.dispose();
  });
});

describe('dispose', () => {
  it('a disposed model refuses work with BackendError; an inference in flight still finishes', async () => {
    const m = createModel(config, weights, { threads: 2 });
    const pending = m.infer({ inputs }, { maxSteps: 2 });
    m.dispose();
    expect((await pending).logits).toEqual(baseline.logits);
    expect(() => m.inferSync({ inputs })).toThrow(BackendError);
    await expect(m.infer({ inputs })).rejects.toBeInstanceOf(BackendError);
    m.dispose(); // twice is harmless
  });
});
