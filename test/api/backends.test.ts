/**
 * Backends by name: the built-ins are registered, a new one is one registerBackend call, and
 * the load-option resolver holds every request to what the chosen backend declared.
 */
import { describe, expect, it } from 'vitest';
import { createModel, loadModel, OptionError, randomConfig, randomWeights, registerBackend, registeredBackends } from '../../lib';
import { NativeBackend } from '../../lib/backends/native';
import { expectError, expectThrows, rejection } from '../helpers/errors';

const config = randomConfig();
const weights = randomWeights(config, { seed: 3, qHeadStd: 0.1 });
const inputs = Int32Array.from({ length: 2 * config.seq_len }, (_, i) => (i * 5 + 1) % config.vocab_size);

// A real backend under a new name: the native operator pinned to the scalar reference, fp32.
registerBackend('scalar-reference', {
  devices: { cpu: { options: ['precision'], precisions: ['fp32'] } },
  createSync: (c, w) => new NativeBackend(c, w, { device: 'cpu', threads: 1, isa: 'scalar', precision: 'fp32' }),
  create: async (c, w) => new NativeBackend(c, w, { device: 'cpu', threads: 1, isa: 'scalar', precision: 'fp32' }),
});

describe('backend registry', () => {
  it('lists the built-in backends and the registered one', () => {
    expect(registeredBackends()).toEqual(expect.arrayContaining(['native', 'onnx', 'scalar-reference']));
  });

  it('creates a registered backend by name; it answers as the same operator asked directly', () => {
    const viaRegistry = createModel(config, weights, { backend: 'scalar-reference' });
    const direct = createModel(config, weights, { isa: 'scalar', threads: 1 });
    expect(viaRegistry.info).toMatchObject({ backend: 'native', device: 'cpu', isa: 'scalar', threads: 1, precision: 'fp32' });
    expect(viaRegistry.inferSync({ inputs }).logits).toEqual(direct.inferSync({ inputs }).logits);
    viaRegistry.dispose();
    direct.dispose();
  });

  it.each([
    [{ backend: 'scalar-reference', threads: 2 }, 'threads'],
    [{ backend: 'scalar-reference', precision: 'bf16' }, 'precision'],
    [{ backend: 'scalar-reference', device: 'cuda' }, 'device'],
    [{ backend: 'onnx', precision: 'bf16' }, 'precision'],
    [{ backend: 'onnx', isa: 'avx2' }, 'isa'],
    [{ gradients: 'yes' }, 'gradients'],
  ] as const)('the resolver refuses %j on field %s, from what the backend declared', (options, field) => {
    expectThrows(() => createModel(config, weights, options as never), OptionError, field);
  });

  it('an unknown backend names the registered ones', async () => {
    const e = expectError(await rejection(loadModel('/nonexistent', { backend: 'tpu' })), OptionError, 'backend');
    expect(e.expected).toMatch(/'native'.*'onnx'.*'scalar-reference'/);
  });

  it("createModel refuses a backend that starts only asynchronously, naming the ones it can start", () => {
    const e = expectThrows(() => createModel(config, weights, { backend: 'onnx' }), OptionError, 'backend');
    expect(e.expected).toMatch(/'native'/);
  });
});
