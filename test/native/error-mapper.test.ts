/**
 * The binding's one error mapper (native/binding/failure.h, js_errors.h): every kind of C++
 * exception gets its code, and every code becomes one of lib/errors.ts's classes, whichever
 * path (async worker, sync call, constructor) it came from.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError, InputError, ModelFormatError, OptionError, TrmError } from '../../lib/errors';
import { nativeSpec } from '../../lib/backends/native';
import { randomConfig, randomWeights } from '../../lib/model/random';
import { loadAddon, translateNativeError } from '../../lib/native/addon';
import { REPO_ROOT } from '../helpers/paths';

describe('the C++ side: each exception kind gets its code', () => {
  it('trm::Error by kind, BackendFailure, bad_alloc, invalid_argument, other std::exception, and anything else', () => {
    const exe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trm-mapper-')), 'check');
    const cxx = process.env.CXX ?? 'c++';
    // Not instrumented: under npm run test:asan the preloaded runtime would abort the
    // check's deliberately impossible allocation instead of letting it throw bad_alloc.
    const env = { ...process.env, LD_PRELOAD: '' };
    execFileSync(cxx, ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(REPO_ROOT, 'native'),
      path.join(__dirname, 'error_mapper_check.cc'), '-o', exe], { env });
    const rows = Object.fromEntries(execFileSync(exe, { encoding: 'utf8', env }).trim().split('\n').map((line) => {
      const [label, code, message] = line.split('\t');
      return [label, { code, message }];
    }));
    expect(rows.model).toEqual({ code: 'TRM_MODEL', message: 'bad tensor' });
    expect(rows.input).toEqual({ code: 'TRM_INPUT', message: 'bad token' });
    expect(rows.option).toEqual({ code: 'TRM_OPTION', message: 'bad option' });
    expect(rows.backend).toEqual({ code: 'TRM_BACKEND', message: 'no device' });
    expect(rows.bad_alloc).toEqual({ code: 'TRM_OUT_OF_MEMORY', message: 'out of memory while checking the mapper' });
    expect(rows.real_bad_alloc.code).toBe('TRM_OUT_OF_MEMORY');
    expect(rows.invalid_argument).toEqual({ code: 'TRM_ARGUMENT', message: 'negative size' });
    expect(rows.out_of_range).toEqual({ code: 'TRM_INTERNAL', message: 'internal error while checking the mapper: index 9' });
    expect(rows.runtime_error.code).toBe('TRM_INTERNAL');
    expect(rows.int).toEqual({ code: 'TRM_INTERNAL', message: 'internal error while checking the mapper: an unknown native exception' });
  });
});

describe('the JS side: every code is a typed error', () => {
  it.each([
    ['TRM_MODEL', ModelFormatError], ['TRM_INPUT', InputError], ['TRM_OPTION', OptionError], ['TRM_BACKEND', BackendError],
    ['TRM_DISPOSED', BackendError], ['TRM_ARGUMENT', BackendError], ['TRM_OUT_OF_MEMORY', BackendError], ['TRM_INTERNAL', BackendError],
  ] as const)('%s -> %s', (code, type) => {
    const raw = Object.assign(new Error('from the addon'), { code });
    const mapped = translateNativeError(raw);
    expect(mapped).toBeInstanceOf(type);
    expect(mapped).toBeInstanceOf(TrmError);
  });
});

describe('one error from every path', () => {
  const config = randomConfig({ seq_len: 4, vocab_size: 5, hidden_size: 16, num_heads: 2 });
  const weights = randomWeights(config, { seed: 1 });
  const spec = nativeSpec(config);
  const addon = loadAddon();

  function codeOf(fn: () => unknown): string | undefined {
    try {
      fn();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return undefined;
  }

  it('constructors: a bad precision is TRM_OPTION naming the known ones', () => {
    let message = '';
    try {
      new addon.NativeModel(spec, weights, { threads: 1, precision: 'fp8' as never });
    } catch (e) {
      message = (e as Error).message;
      expect((e as { code?: string }).code).toBe('TRM_OPTION');
    }
    expect(message).toBe("precision must be one of 'fp32', 'bf16', 'int8', got 'fp8'");
  });

  it('a core input error is the same code from infer, inferSync, step and stepSync', async () => {
    const model = new addon.NativeModel(spec, weights, { threads: 1 });
    const bad = { batch: 1, inputs: new Int32Array([0, 1, 9, 2]), maxSteps: 1, minSteps: 1, haltThreshold: null, trace: false, traceLogits: false, returnCarry: false };
    expect(codeOf(() => model.inferSync(bad))).toBe('TRM_INPUT');
    await expect(model.infer(bad)).rejects.toMatchObject({ code: 'TRM_INPUT' });
    const engine = new addon.GradientEngine(spec, weights, { threads: 1 });
    const badStep = { batch: 1, inputs: new Int32Array([0, 1, 9, 2]), labels: new Int32Array(4) };
    expect(codeOf(() => engine.stepSync(badStep))).toBe('TRM_INPUT');
    await expect(engine.step(badStep)).rejects.toMatchObject({ code: 'TRM_INPUT' });
    model.dispose();
    engine.dispose();
    expect(codeOf(() => model.inferSync(bad))).toBe('TRM_DISPOSED');
    expect(codeOf(() => engine.tapeBytes)).toBe('TRM_DISPOSED');
  });
});
