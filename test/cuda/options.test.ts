/**
 * device: 'cuda' on any machine: cudaAvailable() and every error path that needs no GPU
 * (unknown device, options that do not apply, a build or machine without CUDA).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError, createModel, cudaAvailable, OptionError, randomConfig, randomWeights } from '../../lib';
import { CUDA, HAS_GPU } from '../helpers/cuda';
import { REPO_ROOT } from '../helpers/paths';
import { thrown } from '../helpers/errors';

const config = randomConfig();
const weights = randomWeights(config, { seed: 1 });

describe('cudaAvailable', () => {
  it('reports built, devices and, with no device, why', () => {
    const s = cudaAvailable();
    console.log(`cudaAvailable: ${JSON.stringify(s)}`);
    expect(typeof s.built).toBe('boolean');
    expect(Number.isInteger(s.devices) && s.devices >= 0).toBe(true);
    if (!s.built) expect(s.devices).toBe(0);
    if (s.devices === 0) expect(s.reason).toMatch(/\S/);
  });
});

describe('device option', () => {
  it('rejects an unknown device, naming the field', () => {
    const e = thrown(() => createModel(config, weights, { device: 'gpu' as never }));
    expect(e).toBeInstanceOf(OptionError);
    expect((e as OptionError).field).toBe('device');
  });

  it.each([
    [{ device: 'cuda', backend: 'onnx' }, 'device'],
    [{ device: 'cuda', isa: 'avx2' }, 'isa'],
    [{ device: 'cuda', threads: 2 }, 'threads'],
  ] as const)('rejects %j as an OptionError on %s', (options, field) => {
    const e = thrown(() => createModel(config, weights, options as never));
    expect(e).toBeInstanceOf(OptionError);
    expect((e as OptionError).field).toBe(field);
  });

  it("device 'cpu' is the default and is reported in info", () => {
    const a = createModel(config, weights, { threads: 1 });
    const b = createModel(config, weights, { threads: 1, device: 'cpu' });
    expect(a.info.device).toBe('cpu');
    expect(b.info.device).toBe('cpu');
    a.dispose();
    b.dispose();
  });

  it.skipIf(HAS_GPU)("device 'cuda' without a usable GPU is a BackendError on field device that says why", () => {
    const e = thrown(() => createModel(config, weights, { device: 'cuda' }));
    expect(e).toBeInstanceOf(BackendError);
    expect((e as BackendError).field).toBe('device');
    const message = (e as Error).message;
    console.log(`device 'cuda' here: ${message}`);
    expect(message).toMatch(CUDA.built ? /no usable CUDA GPU/ : /no CUDA backend.*TRM_CUDA=ON/s);
  });
});

describe('packaging', () => {
  it('ships the CMake module that decides TRM_CUDA (an installed package configures with it)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.files).toContain('cmake');
    expect(fs.readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8')).toMatch(/include\(cmake\/trm_cuda\.cmake\)/);
    expect(fs.existsSync(path.join(REPO_ROOT, 'cmake', 'trm_cuda.cmake'))).toBe(true);
  });
});
