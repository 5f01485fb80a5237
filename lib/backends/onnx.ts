/**
 * The ONNX backend: the exported one-step graph on onnxruntime-node (CPU), driven by the
 * shared TypeScript ACT loop (lib/backends/act-loop.ts). It is the portable reference to the
 * fused native operator: same results, same stopping rules and trace, a host round trip per
 * ACT step.
 *
 * The step graph has the recursion depth (H_cycles, L_cycles) unrolled into it, so a call
 * asking for another depth is refused (OptionError on hCycles / lCycles) rather than
 * re-exported per depth: a second graph would mean keeping the weights on the JS heap, a
 * second session per depth, and a model.onnx whose fingerprint no longer says what it runs.
 *
 * The graph comes from the model directory's `model.onnx` when there is one (written by
 * `trm export-onnx`), checked against the weights by its fingerprint, or else is exported
 * in memory at load.
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { runActLoop, type ActLoopShape, type StepFunction } from './act-loop';
import { BackendError, ModelFormatError, OptionError, TrmError } from '../errors';
import { modelDimensions, type TrmConfig } from '../model/config';
import type { WeightMap } from '../model/weights';
import { ONNX_FILE, ONNX_INT8_FILE, exportOnnx, onnxFileName, weightsFingerprint, type OnnxPrecision } from '../onnx/exporter';
import type { InferRequest } from '../request';
import type { Backend, BackendResult } from './backend';
import { resolveThreads } from './threads';

export { ONNX_FILE, ONNX_INT8_FILE, onnxFileName };

/** Graph inputs and outputs of the 'step' graph, with their ONNX element types. */
const STEP_INPUTS: Record<string, number> = {
  inputs: onnx.TensorProto.DataType.INT32,
  puzzle_identifiers: onnx.TensorProto.DataType.INT32,
  z_H: onnx.TensorProto.DataType.FLOAT,
  z_L: onnx.TensorProto.DataType.FLOAT,
};
const STEP_OUTPUTS: Record<string, number> = {
  z_H_next: onnx.TensorProto.DataType.FLOAT,
  z_L_next: onnx.TensorProto.DataType.FLOAT,
  logits: onnx.TensorProto.DataType.FLOAT,
  q_halt: onnx.TensorProto.DataType.FLOAT,
  q_continue: onnx.TensorProto.DataType.FLOAT,
};

export interface OnnxBackendOptions {
  /** intra-op threads of onnxruntime (the calling thread counts). Default: all cores. */
  threads?: number;
  /** An exported model file to use instead of exporting in memory. */
  modelFile?: string;
  /** 'fp32' (default) or 'int8' (the graph of `exportOnnx(..., { precision: 'int8' })`). */
  precision?: OnnxPrecision;
}

function reexportHint(file: string, precision: OnnxPrecision = 'fp32'): string {
  const dir = file.replace(/[/\\]model(\.int8)?\.onnx$/, '') || '<modelDir>';
  return `re-export it with \`trm export-onnx ${dir}${precision === 'int8' ? ' --precision int8' : ''}\`, or delete it to export in memory at load`;
}

/**
 * Checks that `bytes` is a 'step' graph exported from exactly these weights, with the
 * inputs and outputs the backend feeds and reads. Throws ModelFormatError naming `file`.
 */
export function checkOnnxModel(bytes: Uint8Array, config: TrmConfig, weights: WeightMap, file: string, precision: OnnxPrecision = 'fp32'): void {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${ONNX_FILE} is not a valid ONNX model (truncated or corrupt: ${(e as Error).message})`, {
      file, field: ONNX_FILE, expected: `an ONNX model written by \`trm export-onnx\`; ${reexportHint(file, precision)}`,
    });
  }
  const graph = model.graph;
  if (!graph || !graph.node || graph.node.length === 0) {
    throw new ModelFormatError(`${ONNX_FILE} holds no graph (truncated or not an ONNX model)`, {
      file, field: ONNX_FILE, expected: `an ONNX model written by \`trm export-onnx\`; ${reexportHint(file, precision)}`,
    });
  }
  const meta = new Map(model.metadataProps.map((p) => [p.key, p.value]));
  const fingerprint = meta.get('trm.fingerprint');
  const expectedFingerprint = weightsFingerprint(config, weights);
  if (fingerprint === undefined || fingerprint === null) {
    throw new ModelFormatError(`${ONNX_FILE} has no trm.fingerprint metadata, so it cannot be checked against the weights`, {
      file, field: 'trm.fingerprint', value: fingerprint, expected: `a model exported by \`trm export-onnx\`; ${reexportHint(file, precision)}`,
    });
  }
  if (fingerprint !== expectedFingerprint) {
    throw new ModelFormatError(`${ONNX_FILE} is stale or from another model: it was exported from different weights or config`, {
      file, field: 'trm.fingerprint', value: fingerprint, expected: `${expectedFingerprint} (these weights); ${reexportHint(file, precision)}`,
    });
  }
  // Files from before int8 export carry no trm.precision: they are fp32.
  const filePrecision = meta.get('trm.precision') ?? 'fp32';
  if (filePrecision !== precision) {
    throw new ModelFormatError(`${file.split(/[/\\]/).pop()} holds the ${filePrecision} graph, but precision '${precision}' was asked for`, {
      file, field: 'trm.precision', value: filePrecision, expected: `'${precision}'; ${reexportHint(file, precision)}`,
    });
  }
  const graphKind = meta.get('trm.graph');
  if (graphKind !== undefined && graphKind !== 'step') {
    throw new ModelFormatError(`${ONNX_FILE} holds the '${graphKind}' graph; the onnx backend runs the ACT loop itself and needs the 'step' graph`, {
      file, field: 'trm.graph', value: graphKind, expected: `'step'; re-export with \`trm export-onnx <modelDir> --graph step\``,
    });
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const declared = (list: onnx.IValueInfoProto[] | null | undefined) =>
    new Map((list ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => [v.name ?? '', v.type?.tensorType?.elemType ?? 0]));
  const inputs = declared(graph.input);
  const outputs = declared(graph.output);
  const check = (kind: 'input' | 'output', have: Map<string, number>, want: Record<string, number>) => {
    for (const [name, type] of Object.entries(want)) {
      if (!have.has(name)) {
        throw new ModelFormatError(`${ONNX_FILE} lacks the graph ${kind} ${name}`, {
          file, field: `graph.${kind}`, value: [...have.keys()], expected: `${Object.keys(want).join(', ')}; ${reexportHint(file, precision)}`,
        });
      }
      if (have.get(name) !== type) {
        throw new ModelFormatError(`${ONNX_FILE}: graph ${kind} ${name} has the wrong element type`, {
          file, field: `graph.${kind}.${name}`, value: onnx.TensorProto.DataType[have.get(name)!] ?? have.get(name),
          expected: `${onnx.TensorProto.DataType[type]}; ${reexportHint(file, precision)}`,
        });
      }
    }
  };
  check('input', inputs, STEP_INPUTS);
  check('output', outputs, STEP_OUTPUTS);
}

async function createSession(bytes: Uint8Array, threads: number, file: string | undefined): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (e) {
    const message = `onnxruntime cannot load the graph: ${(e as Error).message}`;
    // A file on disk is the user's to fix; an in-memory export that ORT rejects is our bug.
    if (file !== undefined) {
      throw new ModelFormatError(message, { file, field: ONNX_FILE, expected: `a graph onnxruntime ${ort.env.versions?.common ?? ''} runs; ${reexportHint(file)}` });
    }
    throw new BackendError(message, { field: 'backend', value: 'onnx', expected: 'an exported graph onnxruntime accepts' });
  }
}

export class OnnxBackend implements Backend {
  readonly name = 'onnx' as const;
  readonly isa = 'onnxruntime-cpu';
  /** The arithmetic of the graph's Linear layers (bf16 is a native-backend option). */
  readonly precision: OnnxPrecision;
  readonly bf16Compute = null;
  readonly threads: number;
  /** Where the graph came from: the model file, or '<memory>' when exported at load. */
  readonly source: string;
  private session: ort.InferenceSession | null;
  private readonly shape: ActLoopShape;
  private readonly feedsPuzzle: boolean;
  /** The recursion depth unrolled in the step graph (the config's). */
  private readonly depth: { hCycles: number; lCycles: number };
  /** Calls run one after another, as on the native backend; dispose waits for them. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(session: ort.InferenceSession, shape: ActLoopShape, depth: { hCycles: number; lCycles: number }, threads: number, source: string, precision: OnnxPrecision) {
    this.session = session;
    this.depth = depth;
    this.precision = precision;
    this.shape = shape;
    this.threads = threads;
    this.source = source;
    this.feedsPuzzle = session.inputNames.includes('puzzle_identifiers');
  }

  /** Loads `options.modelFile` (checked against the weights) or exports the graph in memory. */
  static async create(config: TrmConfig, weights: WeightMap, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const threads = resolveThreads(options.threads);
    // The load-option resolver admits only the registry's onnx precisions; this guards direct callers.
    const precision = options.precision ?? 'fp32';
    if (precision !== 'fp32' && precision !== 'int8') {
      throw new OptionError('unknown precision for the onnx backend', { field: 'precision', value: precision, expected: "'fp32' or 'int8'" });
    }
    const dims = modelDimensions(config);
    const hInit = weights['inner.H_init'];
    const lInit = weights['inner.L_init'];
    if (!(hInit instanceof Float32Array) || hInit.length !== config.hidden_size || !(lInit instanceof Float32Array) || lInit.length !== config.hidden_size) {
      throw new ModelFormatError('weights lack inner.H_init / inner.L_init of [hidden_size]', {
        field: 'inner.H_init', expected: `Float32Array(${config.hidden_size})`,
      });
    }
    let bytes: Uint8Array;
    const file = options.modelFile;
    if (file !== undefined) {
      try {
        bytes = fs.readFileSync(file);
      } catch (e) {
        throw new ModelFormatError(`cannot read ${ONNX_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, field: ONNX_FILE });
      }
      checkOnnxModel(bytes, config, weights, file, precision);
    } else {
      try {
        bytes = exportOnnx(config, weights, { graph: 'step', precision });
      } catch (e) {
        if (e instanceof TrmError) throw e;
        throw new BackendError(`the ONNX export failed: ${(e as Error).message}`, { field: 'backend', value: 'onnx' });
      }
    }
    const session = await createSession(bytes, threads, file);
    const missing = Object.keys(STEP_OUTPUTS).filter((n) => !session.outputNames.includes(n));
    if (missing.length > 0 || !session.inputNames.includes('inputs') || !session.inputNames.includes('z_H') || !session.inputNames.includes('z_L')) {
      await session.release();
      throw new ModelFormatError('the ONNX graph lacks inputs or outputs the onnx backend needs', {
        file, field: 'graph', value: { inputs: session.inputNames, outputs: session.outputNames },
        expected: `inputs ${Object.keys(STEP_INPUTS).join(', ')}; outputs ${Object.keys(STEP_OUTPUTS).join(', ')}`,
      });
    }
    const shape: ActLoopShape = {
      seqLen: config.seq_len, vocab: config.vocab_size, totalLen: dims.totalLen, hidden: config.hidden_size, hInit, lInit,
    };
    return new OnnxBackend(session, shape, { hCycles: config.H_cycles, lCycles: config.L_cycles }, threads, file ?? '<memory>', precision);
  }

  run(request: InferRequest): Promise<BackendResult> {
    const session = this.live();
    for (const [field, trained] of [['hCycles', this.depth.hCycles], ['lCycles', this.depth.lCycles]] as const) {
      if (request[field] !== trained) {
        return Promise.reject(new OptionError(`the onnx backend runs the recursion depth its step graph was exported with`, {
          field, value: request[field], expected: `${trained} (the config's ${field === 'hCycles' ? 'H_cycles' : 'L_cycles'}), or the 'native' backend for another depth`,
        }));
      }
    }
    const result = this.queue.then(() => runActLoop(request, this.shape, this.stepper(session)));
    this.queue = result.catch(() => undefined);
    return result;
  }

  runSync(_request: InferRequest): BackendResult {
    this.live();
    throw new BackendError('inferSync is not available on the onnx backend; use infer', {
      field: 'backend', value: 'onnx', expected: "infer (onnxruntime-node runs asynchronously), or the 'native' backend for inferSync",
    });
  }

  dispose(): void {
    const session = this.session;
    this.session = null;
    if (session) void this.queue.then(() => session.release()).catch(() => undefined);
  }

  private live(): ort.InferenceSession {
    if (!this.session) throw new BackendError('model has been disposed', { field: 'model', expected: 'a model that has not been disposed' });
    return this.session;
  }

  private stepper(session: ort.InferenceSession): StepFunction {
    const { seqLen: S, totalLen: T, hidden: D } = this.shape;
    return async (a) => {
      const feeds: Record<string, ort.Tensor> = {
        inputs: new ort.Tensor('int32', a.inputs, [a.batch, S]),
        z_H: new ort.Tensor('float32', a.zH, [a.batch, T, D]),
        z_L: new ort.Tensor('float32', a.zL, [a.batch, T, D]),
      };
      if (this.feedsPuzzle) feeds.puzzle_identifiers = new ort.Tensor('int32', a.puzzleIdentifiers, [a.batch]);
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await session.run(feeds);
      } catch (e) {
        throw new BackendError(`onnxruntime failed to run the step graph: ${(e as Error).message}`, { field: 'backend', value: 'onnx' });
      }
      const read = (name: string): Float32Array => {
        const data = (out[name] as ort.Tensor | undefined)?.data;
        if (!(data instanceof Float32Array)) {
          throw new BackendError(`the step graph's output ${name} is not float32`, { field: name, expected: 'a float32 tensor' });
        }
        return data;
      };
      return { zH: read('z_H_next'), zL: read('z_L_next'), logits: read('logits'), qHalt: read('q_halt'), qContinue: read('q_continue') };
    };
  }
}
