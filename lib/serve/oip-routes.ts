/**
 * The Open Inference Protocol v2 over REST (KServe's V2 protocol, Triton's HTTP API): server
 * metadata and health, model metadata and readiness, inference, and Triton's model-repository
 * extension. A TRM model has one input tensor `inputs` (INT32 [-1, seq_len]), an optional
 * `puzzle_identifiers` (INT32 [-1]), and outputs `predictions`, `steps`, `halt_probability`,
 * `q_halt` and, when asked for, `logits`. Request parameters are the library's inference
 * options in snake_case (`max_steps`, `min_steps`, `halt_threshold`, `trace`, and any the
 * library adds); by default the library's defaults apply (every sample runs halt_max_steps).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InputError, NotFoundError, OptionError, UnavailableError } from '../errors';
import type { InferResult, TraceRecord } from '../types';
import { checkedOptions, checkedSamples, checkedWork, markServed } from './infer';
import type { LoadedVersion } from './repository';
import {
  Empty, ErrorBody, IndexRequest, IndexResponse, InferenceRequest, InferenceRequestType, InferenceResponse, Live, LoadRequest,
  ModelMetadata, ModelParams, ModelReady, Ready, ServerMetadata, VersionParams,
} from './schemas';

export const PLATFORM = 'trm-node_native';
export const EXTENSIONS = ['model_repository'];

/** Outputs returned when a request does not choose (`logits` only on request: it is seq_len x vocab per sample). */
const DEFAULT_OUTPUTS = ['predictions', 'steps', 'halt_probability', 'q_halt'];
const ALL_OUTPUTS = [...DEFAULT_OUTPUTS, 'logits'];
/** Request-level parameters other OIP clients send that say nothing to the model. */
const IGNORED_PARAMETERS = new Set(['content_type', 'headers']);
const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 503: ErrorBody };

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

interface Tensor { name: string; shape: number[]; datatype: string; data: unknown[] }

/** The tensor's data as a flat int32 list, checked against its shape (flat, or nested to the shape). */
function int32Data(tensor: Tensor, field: string): Int32Array {
  const total = tensor.shape.reduce((a, b) => a * b, 1);
  // The shape is the caller's claim: check it against the data before allocating by it.
  const nested = tensor.data.some(Array.isArray);
  if (nested ? tensor.data.length !== tensor.shape[0] : tensor.data.length !== total) {
    throw new InputError(nested ? 'nested data does not follow the shape' : 'data does not fit the shape', {
      field: `${field}.data`, value: tensor.data.length, expected: `${nested ? tensor.shape[0] : total} values for shape [${tensor.shape.join(', ')}]`,
    });
  }
  const out = new Int32Array(total);
  let at = 0;
  const put = (value: unknown, where: string) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new InputError('not an INT32 value', { field: where, value, expected: 'an integer in the INT32 range' });
    }
    if (at >= total) throw new InputError('more data than the shape holds', { field: `${field}.data`, expected: `${total} values for shape [${tensor.shape.join(', ')}]` });
    out[at++] = value;
  };
  if (!nested) {
    tensor.data.forEach((v, i) => put(v, `${field}.data[${i}]`));
    return out;
  }
  const walk = (value: unknown, depth: number, where: string) => {
    if (depth === tensor.shape.length) return put(value, where);
    if (!Array.isArray(value) || value.length !== tensor.shape[depth]) {
      throw new InputError('nested data does not follow the shape', { field: where, value: Array.isArray(value) ? value.length : value, expected: `an array of ${tensor.shape[depth]} (shape [${tensor.shape.join(', ')}])` });
    }
    value.forEach((v, i) => walk(v, depth + 1, `${where}[${i}]`));
  };
  walk(tensor.data, 0, `${field}.data`);
  return out;
}

function checkTensor(tensor: Tensor, field: string, shape: number[]): void {
  if (tensor.datatype !== 'INT32') throw new InputError('wrong datatype', { field: `${field}.datatype`, value: tensor.datatype, expected: 'INT32' });
  const fits = tensor.shape.length === shape.length && tensor.shape.every((d, i) => (shape[i] === -1 ? d >= 1 : d === shape[i]));
  if (!fits) throw new InputError('wrong shape', { field: `${field}.shape`, value: tensor.shape, expected: `[${shape.join(', ')}] (-1: any positive size)` });
}

interface ParsedInfer {
  inputs: Int32Array;
  puzzleIdentifiers?: Int32Array;
  options: Record<string, unknown>;
  outputs: string[];
}

function parseInferRequest(body: InferenceRequestType, version: LoadedVersion): ParsedInfer {
  const seqLen = version.config.seq_len;
  const byName = new Map<string, { tensor: Tensor; field: string }>();
  body.inputs.forEach((tensor, i) => {
    const field = `inputs[${i}]`;
    if (tensor.name !== 'inputs' && tensor.name !== 'puzzle_identifiers') {
      throw new InputError('unknown input tensor', { field: `${field}.name`, value: tensor.name, expected: "'inputs' (and optionally 'puzzle_identifiers')" });
    }
    if (byName.has(tensor.name)) throw new InputError('input tensor given twice', { field: `${field}.name`, value: tensor.name });
    byName.set(tensor.name, { tensor: tensor as Tensor, field });
  });
  const tokens = byName.get('inputs');
  if (!tokens) throw new InputError('missing input tensor', { field: 'inputs', expected: `a tensor named 'inputs', INT32 [-1, ${seqLen}]` });
  checkTensor(tokens.tensor, tokens.field, [-1, seqLen]);
  const inputs = int32Data(tokens.tensor, tokens.field);
  const ids = byName.get('puzzle_identifiers');
  let puzzleIdentifiers: Int32Array | undefined;
  if (ids) {
    checkTensor(ids.tensor, ids.field, [tokens.tensor.shape[0]]);
    puzzleIdentifiers = int32Data(ids.tensor, ids.field);
  }

  const options: Record<string, unknown> = {};
  const snake = new Map<string, string>();
  for (const [key, value] of Object.entries(body.parameters ?? {})) {
    if (IGNORED_PARAMETERS.has(key)) continue;
    if (key === 'binary_data_output' && value === false) continue;
    options[camelCase(key)] = value;
    snake.set(camelCase(key), key);
  }
  try {
    checkedOptions(options, version, 'parameters');
  } catch (e) {
    // The library names its options in camelCase; an OIP caller sent them in snake_case.
    if (e instanceof OptionError && e.field !== undefined) {
      const key = e.field.replace(/^parameters\./, '');
      throw new OptionError(e.message.split(';')[0], { field: `parameters.${snake.get(key) ?? key}`, value: e.value, expected: e.expected?.replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, snakeCase) });
    }
    throw e;
  }
  const outputs = body.outputs?.map((o, i) => {
    if (!ALL_OUTPUTS.includes(o.name)) throw new InputError('unknown output tensor', { field: `outputs[${i}].name`, value: o.name, expected: `one of ${ALL_OUTPUTS.join(', ')}` });
    return o.name;
  }) ?? DEFAULT_OUTPUTS;
  return { inputs, puzzleIdentifiers, options, outputs: [...new Set(outputs)] };
}

function outputTensor(name: string, r: InferResult): { name: string; datatype: string; shape: number[]; data: number[] } {
  const n = r.batch;
  switch (name) {
    case 'predictions': return { name, datatype: 'INT32', shape: [n, r.seqLen], data: Array.from(r.predictions) };
    case 'steps': return { name, datatype: 'INT32', shape: [n], data: Array.from(r.steps) };
    case 'halt_probability': return { name, datatype: 'FP32', shape: [n], data: Array.from(r.haltProbability) };
    case 'q_halt': return { name, datatype: 'FP32', shape: [n], data: Array.from(r.qHalt) };
    case 'logits': return { name, datatype: 'FP32', shape: [n, r.seqLen, r.vocabSize], data: Array.from(r.logits) };
    default: throw new InputError('unknown output tensor', { field: 'outputs', value: name });
  }
}

/** The library's trace records as JSON: each typed array as a list. */
export function traceJson(trace: TraceRecord[]): Array<Record<string, unknown>> {
  return trace.map((record) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v])));
}

function metadata(app: FastifyInstance, request: FastifyRequest, version: LoadedVersion) {
  markServed(request, version);
  const name = version.name;
  const { seq_len: seqLen, vocab_size: vocab } = version.config;
  const versions = app.trm.repository.summary(name).versions.map((v) => String(v.version));
  return {
    name,
    versions,
    platform: PLATFORM,
    inputs: [
      { name: 'inputs', datatype: 'INT32', shape: [-1, seqLen] },
      { name: 'puzzle_identifiers', datatype: 'INT32', shape: [-1], parameters: { optional: true } },
    ],
    outputs: [
      { name: 'predictions', datatype: 'INT32', shape: [-1, seqLen] },
      { name: 'steps', datatype: 'INT32', shape: [-1] },
      { name: 'halt_probability', datatype: 'FP32', shape: [-1] },
      { name: 'q_halt', datatype: 'FP32', shape: [-1] },
      { name: 'logits', datatype: 'FP32', shape: [-1, seqLen, vocab], parameters: { on_request: true } },
    ],
    parameters: { version: String(version.version), task: version.metadata.task, halt_max_steps: version.config.halt_max_steps },
  };
}

export async function oipRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const repository = app.trm.repository;

  app.get('/v2', { schema: { response: { 200: ServerMetadata } } }, async () => ({ name: 'trm-node', version: app.trm.version, extensions: EXTENSIONS }));
  app.get('/v2/health/live', { schema: { response: { 200: Live } } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: { response: { 200: Ready, 503: ErrorBody } } }, async () => {
    if (app.trm.draining || !repository.ready) {
      const waiting = repository.notReady();
      throw new UnavailableError(app.trm.draining ? 'the server is shutting down' : `not ready: ${waiting.join(', ') || 'loading the models'}`, { retryAfterSeconds: 1 });
    }
    return { ready: true };
  });

  const modelReady = async (name: string, version: string | undefined) => {
    if (!repository.isReady(name, version)) {
      throw new UnavailableError(`model ${name}${version ? ` version ${version}` : ''} is not ready`, { field: 'name', value: name, retryAfterSeconds: 1 });
    }
    return { name, ...(version !== undefined && { version }), ready: true };
  };
  app.get('/v2/models/:name/ready', { schema: { params: ModelParams, response: { 200: ModelReady, ...errors } } }, async (req) => modelReady(req.params.name, undefined));
  app.get('/v2/models/:name/versions/:version/ready', { schema: { params: VersionParams, response: { 200: ModelReady, ...errors } } },
    async (req) => modelReady(req.params.name, req.params.version));

  app.get('/v2/models/:name', { schema: { params: ModelParams, response: { 200: ModelMetadata, ...errors } } },
    async (req) => repository.use(req.params.name, undefined, async (v) => metadata(app, req, v)));
  app.get('/v2/models/:name/versions/:version', { schema: { params: VersionParams, response: { 200: ModelMetadata, ...errors } } },
    async (req) => repository.use(req.params.name, req.params.version, async (v) => metadata(app, req, v)));

  const infer = async (request: FastifyRequest, name: string, ref: string | undefined, body: InferenceRequestType) => repository.use(name, ref, async (version) => {
    markServed(request, version);
    const parsed = parseInferRequest(body, version);
    const samples = checkedSamples(version, parsed.inputs, parsed.puzzleIdentifiers, app.trm.limits, 'inputs');
    checkedWork(samples, parsed.options, version, app.trm.limits, { steps: 'parameters.max_steps', trace: 'parameters.trace' });
    const result = await version.infer(samples, parsed.options);
    return {
      model_name: name,
      model_version: String(version.version),
      ...(body.id !== undefined && { id: body.id }),
      ...(result.trace && { parameters: { trace: traceJson(result.trace) } }),
      outputs: parsed.outputs.map((o) => outputTensor(o, result)),
    };
  });
  const inferSchema = { body: InferenceRequest, response: { 200: InferenceResponse, ...errors } };
  app.post('/v2/models/:name/infer', { schema: { params: ModelParams, ...inferSchema }, config: { access: 'infer' } },
    async (req) => infer(req, req.params.name, undefined, req.body));
  app.post('/v2/models/:name/versions/:version/infer', { schema: { params: VersionParams, ...inferSchema }, config: { access: 'infer' } },
    async (req) => infer(req, req.params.name, req.params.version, req.body));

  // Triton's model-repository extension. The index only reads; load and unload are admin routes.
  app.post('/v2/repository/index', { schema: { body: IndexRequest, response: { 200: IndexResponse, ...errors } }, config: { access: 'read' } },
    async (req) => repository.index(req.body?.ready === true).map((e) => ({ name: e.name, ...(e.version && { version: e.version }), state: e.state, reason: e.reason })));
  app.post('/v2/repository/models/:name/load', { schema: { params: ModelParams, body: LoadRequest, response: { 200: Empty, ...errors } } }, async (req) => {
    await repository.load(req.params.name);
    return {};
  });
  app.post('/v2/repository/models/:name/unload', { schema: { params: ModelParams, body: LoadRequest, response: { 200: Empty, ...errors } } }, async (req) => {
    if (!repository.names().includes(req.params.name)) throw new NotFoundError('unknown model', { field: 'name', value: req.params.name, expected: `one of ${repository.names().join(', ')}` });
    await repository.unload(req.params.name);
    return {};
  });
}
