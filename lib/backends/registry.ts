/**
 * Backends by name, as onnxruntime's `registerBackend`: each says which devices it runs on,
 * which load options and precisions it takes there, and how to create itself. The load-option
 * resolver (load-options.ts) checks a request against these declarations, so a new backend,
 * device or precision is one entry here, not a check in every caller.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OptionError } from '../errors';
import type { TrmConfig } from '../model/config';
import type { WeightMap } from '../model/weights';
import type { Device, Precision } from '../types';
import type { Backend, LoadOptionName, ResolvedLoadOptions } from './backend';
import { NativeBackend } from './native';

/** What a backend accepts on one device. */
export interface DeviceSupport {
  /** Load options it reads there ('backend', 'device' and 'gradients' are always accepted). */
  readonly options: readonly LoadOptionName[];
  readonly precisions: readonly Precision[];
}

/** Where the weights came from: a model directory, or memory. */
export interface BackendSource {
  dir?: string;
}

export interface BackendFactory {
  readonly devices: Partial<Record<Device, DeviceSupport>>;
  create(config: TrmConfig, weights: WeightMap, options: ResolvedLoadOptions, source: BackendSource): Promise<Backend>;
  /** For createModel, which is synchronous; absent when the backend can only start asynchronously. */
  createSync?(config: TrmConfig, weights: WeightMap, options: ResolvedLoadOptions): Backend;
}

const factories = new Map<string, BackendFactory>();

/** Registers (or replaces) the backend `name`. */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

export function registeredBackends(): string[] {
  return [...factories.keys()];
}

/** The factory for `name`, or undefined. */
export function backendFactory(name: string): BackendFactory | undefined {
  return factories.get(name);
}

export function createBackendSync(name: string, config: TrmConfig, weights: WeightMap, options: ResolvedLoadOptions): Backend {
  const factory = factories.get(name);
  if (factory?.createSync === undefined) {
    throw new OptionError(`createModel is synchronous and the '${name}' backend starts asynchronously`, {
      field: 'backend', value: name, expected: `one of ${syncBackends().join(', ')}; use loadModel or createOnnxModel (async) for '${name}'`,
    });
  }
  return factory.createSync(config, weights, options);
}

function syncBackends(): string[] {
  return [...factories.entries()].filter(([, f]) => f.createSync !== undefined).map(([n]) => `'${n}'`);
}

export async function createBackend(name: string, config: TrmConfig, weights: WeightMap, options: ResolvedLoadOptions, source: BackendSource = {}): Promise<Backend> {
  // Known here: resolveLoadOptions refused any other name.
  return factories.get(name)!.create(config, weights, options, source);
}

const native = (config: TrmConfig, weights: WeightMap, o: ResolvedLoadOptions): Backend =>
  new NativeBackend(config, weights, { device: o.device, threads: o.threads, isa: o.isa, precision: o.precision });

registerBackend('native', {
  devices: {
    cpu: { options: ['threads', 'isa', 'precision'], precisions: ['fp32', 'bf16', 'int8'] },
    cuda: { options: ['precision'], precisions: ['fp32', 'bf16'] },
  },
  createSync: native,
  create: async (config, weights, o) => native(config, weights, o),
});

// onnxruntime-node loads only when a model asks for the onnx backend.
registerBackend('onnx', {
  devices: { cpu: { options: ['threads', 'precision'], precisions: ['fp32', 'int8'] } },
  async create(config, weights, o, source) {
    const { OnnxBackend, onnxFileName } = await import('./onnx');
    const precision = o.precision === 'int8' ? 'int8' : 'fp32';
    // A directory's exported graph of this precision is used when present (checked against the weights at load).
    const file = source.dir === undefined ? undefined : path.join(source.dir, onnxFileName(precision));
    return OnnxBackend.create(config, weights, { threads: o.threads, precision, modelFile: file !== undefined && fs.existsSync(file) ? file : undefined });
  },
});
