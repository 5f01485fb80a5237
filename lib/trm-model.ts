/**
 * A loaded model: the config, a backend, and the checks that run before the backend sees
 * a request. Every backend's raw result is shaped here, so all of them answer alike.
 */
import { BackendError, OptionError } from './errors';
import type { Backend, BackendResult, ResolvedLoadOptions } from './backends/backend';
import { resolveLoadOptions } from './backends/load-options';
import { createBackend, createBackendSync } from './backends/registry';
import { haltProbability } from './halting';
import { modelDimensions, type ModelDimensions, type TrmConfig } from './model/config';
import { readModelDirectory } from './model/directory';
import type { WeightMap } from './model/weights';
import { MAX_STEPS_LIMIT, normalizeInput, normalizeOptions, type InferRequest } from './request';
import type { InferInput, InferOptions, InferResult, LoadOptions, ModelInfo, ModelLimits } from './types';
import { checkCodecFits, readModelCodec, type Codec } from './codecs/codec';
import type { EncodedInput } from './codecs/codec-types';
import { decodeResult, predictInputs, type Prediction, type PredictOptions } from './codecs/predict';

/** What a model was created from: the training API builds its gradient engine from it. */
export interface ModelSource {
  config: TrmConfig;
  /** The float32 weights under canonical names, a private copy. */
  weights: WeightMap;
}

/**
 * Kept beside the model rather than on it, so the public TrmModel surface stays as it was;
 * only for models loaded with { gradients: true }: the backend holds its own (packed) copy,
 * so a second fp32 copy on the JS heap is paid only by models that train.
 */
const sources = new WeakMap<TrmModel, ModelSource>();

function remember(model: TrmModel, config: TrmConfig, weights: WeightMap, options: ResolvedLoadOptions): TrmModel {
  if (!options.gradients) return model;
  // A copy: the caller may reuse or change its arrays.
  const copy: WeightMap = {};
  for (const [name, data] of Object.entries(weights)) copy[name] = Float32Array.from(data);
  sources.set(model, { config, weights: copy });
  return model;
}

/** The config and weights a live model was created from (library-internal, for training). */
export function modelSource(model: TrmModel): ModelSource {
  if (!(model instanceof TrmModel)) throw new BackendError('not a TrmModel', { field: 'model', expected: 'a model from loadModel or createModel' });
  const source = sources.get(model);
  if (source !== undefined) return source;
  if (model.disposed) throw new BackendError('model has been disposed', { field: 'model', expected: 'a model that has not been disposed' });
  throw new OptionError('the model keeps no weights for gradients', {
    field: 'gradients', value: false, expected: 'a model loaded or created with { gradients: true }',
  });
}

export class TrmModel {
  readonly config: TrmConfig;
  readonly dimensions: ModelDimensions;
  /** How records or texts become this model's tokens (the directory's codec.json); undefined for a token model. */
  readonly codec?: Codec;
  /** The per-call caps every infer call is checked against before any work. */
  readonly limits: Readonly<ModelLimits>;
  private backend: Backend | null;

  constructor(config: TrmConfig, backend: Backend, extras: { codec?: Codec; limits?: ModelLimits } = {}) {
    this.config = config;
    this.dimensions = modelDimensions(config);
    this.limits = Object.freeze({ ...(extras.limits ?? { maxBatch: Infinity, maxStepsLimit: MAX_STEPS_LIMIT }) });
    this.backend = backend;
    if (extras.codec) this.codec = extras.codec;
  }

  /** The tokens of one record or text (with notes on unknown values and truncation); codec models only. */
  encode(input: unknown): EncodedInput {
    return this.needCodec('encode').encodeInput(input);
  }

  /** The labels of sample `index` of an infer() result, with each slot's probability (and per-step answers when it was traced with logits). */
  decode(result: InferResult, index = 0): Prediction {
    return decodeResult(this.needCodec('decode'), result, index);
  }

  /** Labels for records or texts: encode, infer (adaptive halting at 0.5 unless told), decode. */
  async predict(inputs: readonly unknown[], options?: PredictOptions): Promise<Prediction[]> {
    if (!Array.isArray(inputs)) throw new OptionError('predict takes a list of inputs', { field: 'inputs', value: inputs, expected: 'an array of records or texts' });
    this.live();
    return predictInputs(this, this.needCodec('predict'), inputs, options);
  }

  private needCodec(what: string): Codec {
    if (!this.codec) throw new OptionError(`${what} needs a codec model`, { field: 'codec', value: undefined, expected: 'a model directory with codec.json (trm train --data on records or texts writes one)' });
    return this.codec;
  }

  get info(): ModelInfo {
    const b = this.live();
    return {
      backend: b.name, device: b.device ?? 'cpu', isa: b.isa, threads: b.threads, precision: b.precision, bf16Compute: b.bf16Compute,
      int8Compute: b.int8Compute ?? null, linearKernel: b.linearKernel ?? null, amxUnavailable: b.amxUnavailable ?? null,
      oneThreadBelowBatch: b.oneThreadBelowBatch ?? null,
    };
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

  get disposed(): boolean {
    return this.backend === null;
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
      stoppedBy: r.stoppedBy,
    };
    if (r.trace) out.trace = r.trace;
    if (r.carry) out.carry = r.carry;
    return out;
  }
}

/** The load options' caps, checked against the model: its default call must fit them. */
function resolveLimits(o: ResolvedLoadOptions, config: TrmConfig): ModelLimits {
  const limits = { maxBatch: o.maxBatch ?? Infinity, maxStepsLimit: o.maxStepsLimit ?? MAX_STEPS_LIMIT };
  if (limits.maxStepsLimit < config.halt_max_steps) {
    throw new OptionError('maxStepsLimit is below the model\'s own step count', {
      field: 'maxStepsLimit', value: limits.maxStepsLimit, expected: `at least halt_max_steps (${config.halt_max_steps}), the steps of a call without maxSteps`,
    });
  }
  return limits;
}

/** A model from a config and weights already in memory (e.g. from the random generator); a backend that starts synchronously. `codec` makes it a codec model. */
export function createModel(config: TrmConfig, weights: WeightMap, options?: LoadOptions, codec?: Codec): TrmModel {
  const o = resolveLoadOptions(options);
  const limits = resolveLimits(o, config);
  if (codec) checkCodecFits(codec, config);
  return remember(new TrmModel(config, createBackendSync(o.backend, config, weights, o), { codec, limits }), config, weights, o);
}

/** A model on the onnx backend from a config and weights in memory: the step graph is exported in memory. */
export async function createOnnxModel(config: TrmConfig, weights: WeightMap, options?: Omit<LoadOptions, 'backend' | 'isa' | 'device'>): Promise<TrmModel> {
  const o = resolveLoadOptions({ ...options, backend: 'onnx' });
  const limits = resolveLimits(o, config);
  return remember(new TrmModel(config, await createBackend(o.backend, config, weights, o), { limits }), config, weights, o);
}

/**
 * Loads a model directory (config.json + model.safetensors). With backend 'onnx', the
 * directory's model.onnx (model.int8.onnx for precision 'int8', from `trm export-onnx`) is
 * used when present, after checking it was exported from these weights; otherwise the graph
 * is exported in memory. A quantized directory (`trm quantize`) runs in 'int8' unless the
 * caller chooses a precision.
 */
export async function loadModel(dir: string, options?: LoadOptions): Promise<TrmModel> {
  let o = resolveLoadOptions(options);
  const { dir: root, config, weights, storage } = readModelDirectory(dir);
  // A quantized file (`trm quantize`) runs as int8 unless the caller chose a precision.
  if (storage.quantization !== null && (options as LoadOptions | undefined)?.precision === undefined) {
    o = resolveLoadOptions({ ...options, precision: 'int8' });
  }
  const limits = resolveLimits(o, config);
  const codec = readModelCodec(root, config);
  return remember(new TrmModel(config, await createBackend(o.backend, config, weights, o, { dir: root }), { codec, limits }), config, weights, o);
}
