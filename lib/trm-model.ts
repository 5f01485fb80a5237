/**
 * A loaded model: the config, a backend, and the checks that run before the backend sees
 * a request. Every backend's raw result is shaped here, so all of them answer alike.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackendError, OptionError } from './errors';
import { NativeBackend } from './backends/native';
import { CudaBackend } from './backends/cuda';
import type { OnnxBackend } from './backends/onnx';
import type { Backend, BackendResult } from './backends/backend';
import { haltProbability } from './halting';
import { modelDimensions, type ModelDimensions, type TrmConfig } from './model/config';
import { readModelDirectory } from './model/directory';
import type { WeightMap } from './model/weights';
import { MAX_STEPS_LIMIT, normalizeInput, normalizeOptions, type InferRequest } from './request';
import type { InferInput, InferOptions, InferResult, LoadOptions, ModelInfo, ModelLimits } from './types';

const LOAD_KEYS = new Set(['backend', 'threads', 'isa', 'precision', 'device', 'maxBatch', 'maxStepsLimit']);

/** What a model was created from: the training API builds its gradient engine from it. */
export interface ModelSource {
  config: TrmConfig;
  /** The float32 weights under canonical names, a private copy. */
  weights: WeightMap;
}

/** Kept beside the model rather than on it, so the public TrmModel surface stays as it was. */
const sources = new WeakMap<TrmModel, ModelSource>();

function remember(model: TrmModel, config: TrmConfig, weights: WeightMap): TrmModel {
  // A copy: the caller may reuse or change its arrays, and the backend already copied its own.
  const copy: WeightMap = {};
  for (const [name, data] of Object.entries(weights)) copy[name] = Float32Array.from(data);
  sources.set(model, { config, weights: copy });
  return model;
}

/** The config and weights a live model was created from (library-internal, for training). */
export function modelSource(model: TrmModel): ModelSource {
  const source = model instanceof TrmModel ? sources.get(model) : undefined;
  if (source === undefined) {
    throw new BackendError(model instanceof TrmModel ? 'model has been disposed' : 'not a TrmModel', {
      field: 'model', expected: 'a model from loadModel or createModel that has not been disposed',
    });
  }
  return source;
}

export class TrmModel {
  readonly config: TrmConfig;
  readonly dimensions: ModelDimensions;
  /** The per-call caps every infer call is checked against before any work. */
  readonly limits: Readonly<ModelLimits>;
  private backend: Backend | null;

  constructor(config: TrmConfig, backend: Backend, limits: ModelLimits = { maxBatch: Infinity, maxStepsLimit: MAX_STEPS_LIMIT }) {
    this.config = config;
    this.dimensions = modelDimensions(config);
    this.limits = Object.freeze({ ...limits });
    this.backend = backend;
  }

  get info(): ModelInfo {
    const b = this.live();
    return { backend: b.name, device: b.device ?? 'cpu', isa: b.isa, threads: b.threads, precision: b.precision, bf16Compute: b.bf16Compute };
  }

  /** Runs the whole ACT loop off the event loop. Concurrent calls on one model are safe. */
  async infer(input: InferInput, options?: InferOptions): Promise<InferResult> {
    const request = this.request(input, options);
    return this.shape(await this.live().run(request), request);
  }

  /** The same, blocking the calling thread: for scripts and CLIs (native backend only). */
  inferSync(input: InferInput, options?: InferOptions): InferResult {
    const request = this.request(input, options);
    return this.shape(this.live().runSync(request), request);
  }

  /** Frees the native model; an inference already running finishes first. */
  dispose(): void {
    this.backend?.dispose();
    this.backend = null;
    sources.delete(this);
  }

  private live(): Backend {
    if (!this.backend) throw new BackendError('model has been disposed', { field: 'model', expected: 'a model that has not been disposed' });
    return this.backend;
  }

  private request(input: InferInput, options?: InferOptions): InferRequest {
    this.live();
    return { ...normalizeInput(input, this.config, this.dimensions, this.limits), ...normalizeOptions(options, this.config, this.limits) };
  }

  private shape(r: BackendResult, request: InferRequest): InferResult {
    const out: InferResult = {
      batch: request.batch,
      seqLen: this.config.seq_len,
      vocabSize: this.config.vocab_size,
      predictions: r.predictions,
      logits: r.logits,
      steps: r.steps,
      qHalt: r.qHalt,
      qContinue: r.qContinue,
      haltProbability: Float32Array.from(r.qHalt, haltProbability),
    };
    if (r.trace) out.trace = r.trace;
    if (r.carry) out.carry = r.carry;
    return out;
  }
}

function checkLoadOptions(options: LoadOptions | undefined): LoadOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new OptionError('options must be an object', { field: 'options', value: options });
  }
  for (const key of Object.keys(o)) {
    if (!LOAD_KEYS.has(key)) throw new OptionError('unknown option', { field: key, value: o[key], expected: [...LOAD_KEYS].join(', ') });
  }
  if (o.backend !== undefined && o.backend !== 'native' && o.backend !== 'onnx') {
    throw new OptionError('unknown backend', { field: 'backend', value: o.backend, expected: "'native' or 'onnx'" });
  }
  if (o.isa !== undefined && typeof o.isa !== 'string') throw new OptionError('invalid option', { field: 'isa', value: o.isa, expected: 'a string' });
  if (o.precision !== undefined && o.precision !== 'fp32' && o.precision !== 'bf16') {
    throw new OptionError('unknown precision', { field: 'precision', value: o.precision, expected: "'fp32' or 'bf16'" });
  }
  if (o.backend === 'onnx' && o.precision === 'bf16') {
    throw new OptionError('bf16 runs on the native backend only', { field: 'precision', value: o.precision, expected: "'fp32' (or undefined) with backend 'onnx'" });
  }
  if (o.backend === 'onnx' && o.isa !== undefined && o.isa !== 'auto') {
    throw new OptionError('isa applies to the native backend only', { field: 'isa', value: o.isa, expected: "undefined or 'auto' with backend 'onnx'" });
  }
  if (o.device !== undefined && o.device !== 'cpu' && o.device !== 'cuda') {
    throw new OptionError('unknown device', { field: 'device', value: o.device, expected: "'cpu' or 'cuda'" });
  }
  if (o.device === 'cuda') {
    if (o.backend === 'onnx') {
      throw new OptionError("device 'cuda' runs the native backend only", { field: 'device', value: o.device, expected: "'cpu' (or undefined) with backend 'onnx'" });
    }
    if (o.isa !== undefined && o.isa !== 'auto') {
      throw new OptionError("isa applies to device 'cpu' only", { field: 'isa', value: o.isa, expected: "undefined or 'auto' with device 'cuda'" });
    }
    if (o.threads !== undefined) {
      throw new OptionError("threads applies to device 'cpu' only", { field: 'threads', value: o.threads, expected: "undefined with device 'cuda'" });
    }
  }
  for (const [key, max] of [['maxBatch', 2 ** 31 - 1], ['maxStepsLimit', MAX_STEPS_LIMIT]] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)) {
      throw new OptionError('invalid option', { field: key, value: v, expected: `an integer in [1, ${max}]` });
    }
  }
  return o as LoadOptions;
}

/** The load options' caps, checked against the model: its default call must fit them. */
function resolveLimits(o: LoadOptions, config: TrmConfig): ModelLimits {
  const limits = { maxBatch: o.maxBatch ?? Infinity, maxStepsLimit: o.maxStepsLimit ?? MAX_STEPS_LIMIT };
  if (limits.maxStepsLimit < config.halt_max_steps) {
    throw new OptionError('maxStepsLimit is below the model\'s own step count', {
      field: 'maxStepsLimit', value: limits.maxStepsLimit, expected: `at least halt_max_steps (${config.halt_max_steps}), the steps of a call without maxSteps`,
    });
  }
  return limits;
}

/** A model from a config and weights already in memory (e.g. from the random generator); native backend. */
export function createModel(config: TrmConfig, weights: WeightMap, options?: LoadOptions): TrmModel {
  const o = checkLoadOptions(options);
  const limits = resolveLimits(o, config);
  if (o.backend === 'onnx') {
    throw new OptionError('createModel is synchronous and runs the native backend', {
      field: 'backend', value: o.backend, expected: "'native'; use createOnnxModel (async) for the onnx backend",
    });
  }
  const backend = o.device === 'cuda'
    ? new CudaBackend(config, weights, { precision: o.precision })
    : new NativeBackend(config, weights, { threads: o.threads, isa: o.isa, precision: o.precision });
  return remember(new TrmModel(config, backend, limits), config, weights);
}

/** onnxruntime-node loads only when a model asks for the onnx backend. */
async function onnxBackendModule(): Promise<typeof import('./backends/onnx')> {
  return import('./backends/onnx');
}

/** A model on the onnx backend from a config and weights in memory: the step graph is exported in memory. */
export async function createOnnxModel(config: TrmConfig, weights: WeightMap, options?: Omit<LoadOptions, 'backend' | 'isa' | 'precision' | 'device'>): Promise<TrmModel> {
  const o = checkLoadOptions({ ...options, backend: 'onnx' });
  const limits = resolveLimits(o, config);
  const { OnnxBackend: Onnx } = await onnxBackendModule();
  const backend: OnnxBackend = await Onnx.create(config, weights, { threads: o.threads });
  return remember(new TrmModel(config, backend, limits), config, weights);
}

/**
 * Loads a model directory (config.json + model.safetensors). With backend 'onnx', the
 * directory's model.onnx (from `trm export-onnx`) is used when present, after checking it
 * was exported from these weights; otherwise the graph is exported in memory.
 */
export async function loadModel(dir: string, options?: LoadOptions): Promise<TrmModel> {
  const o = checkLoadOptions(options);
  const { dir: root, config, weights } = readModelDirectory(dir);
  if (o.backend === 'onnx') {
    const limits = resolveLimits(o, config);
    const { OnnxBackend: Onnx, ONNX_FILE } = await onnxBackendModule();
    const file = path.join(root, ONNX_FILE);
    const modelFile = fs.existsSync(file) ? file : undefined;
    return remember(new TrmModel(config, await Onnx.create(config, weights, { threads: o.threads, modelFile }), limits), config, weights);
  }
  return createModel(config, weights, options);
}
