/**
 * The ACT loop for host-loop backends (the ones that run one step at a time, such as ONNX):
 * per-sample stopping (lib/halting.ts), compaction of stopped samples, the trace and the
 * carry, with exactly the semantics of the native kernel's fused loop
 * (native/core/recursion.cc). A backend supplies only `step`, one ACT step of the samples
 * still running, at the request's recursion depth.
 */
import { haltProbability, nextUnchangedRun, stopReason } from '../halting';
import type { InferRequest } from '../request';
import { stepStatistics } from '../trace';
import type { StopReason, TraceRecord } from '../types';
import type { BackendResult } from './backend';

/** The samples still running, packed to the front in their original order. */
export interface ActiveBatch {
  /** [batch * seq_len] */
  inputs: Int32Array;
  /** [batch] */
  puzzleIdentifiers: Int32Array;
  /** [batch * totalLen * hidden] */
  zH: Float32Array;
  zL: Float32Array;
  batch: number;
}

export interface StepOutput {
  /** [batch * totalLen * hidden]: the carry after this step. */
  zH: Float32Array;
  zL: Float32Array;
  /** [batch * seq_len * vocab] */
  logits: Float32Array;
  /** [batch] */
  qHalt: Float32Array;
  qContinue: Float32Array;
}

export type StepFunction = (active: ActiveBatch) => Promise<StepOutput>;

export interface ActLoopShape {
  seqLen: number;
  vocab: number;
  /** seq_len + puzzle prefix. */
  totalLen: number;
  hidden: number;
  /** `inner.H_init` / `inner.L_init` [hidden]: the carry of a sample that brings none. */
  hInit: Float32Array;
  lInit: Float32Array;
}

function checkLength(what: string, got: Float32Array, expected: number): void {
  if (!(got instanceof Float32Array) || got.length !== expected) {
    throw new RangeError(`act loop: step returned ${what} of length ${got?.length}, expected ${expected}`);
  }
}

/** Copies `n`-element blocks `from[i]` of `src` to consecutive blocks of a new array. */
function gather<T extends Float32Array | Int32Array>(src: T, blocks: readonly number[], n: number, make: (length: number) => T): T {
  const out = make(blocks.length * n);
  blocks.forEach((from, to) => out.set(src.subarray(from * n, (from + 1) * n), to * n));
  return out;
}

/** Runs the whole ACT loop of `request` with `step`, one step of the running samples per call. */
export async function runActLoop(request: InferRequest, shape: ActLoopShape, step: StepFunction): Promise<BackendResult> {
  const { batch: B, inputs } = request;
  const { seqLen: S, vocab: V, totalLen: T, hidden: D } = shape;
  const carrySize = T * D, logitsSize = S * V;

  // "changed" at step 1 counts against the input tokens, as in the native loop.
  const predictions = inputs.slice();
  const logits = new Float32Array(B * logitsSize);
  const steps = new Int32Array(B);
  const qHalt = new Float32Array(B);
  const qContinue = new Float32Array(B);
  const probability = new Float32Array(B);
  const confidence = new Float32Array(B);
  const changed = new Int32Array(B);
  const unchangedRun = new Int32Array(B);
  const halted = new Uint8Array(B);
  const stoppedBy: (StopReason | null)[] = new Array(B).fill(null);
  const carryOut = request.returnCarry ? { zH: new Float32Array(B * carrySize), zL: new Float32Array(B * carrySize) } : undefined;
  const trace: TraceRecord[] | undefined = request.trace ? [] : undefined;

  let zH: Float32Array, zL: Float32Array;
  if (request.carry) {
    zH = request.carry.zH.slice();
    zL = request.carry.zL.slice();
  } else {
    zH = new Float32Array(B * carrySize);
    zL = new Float32Array(B * carrySize);
    for (let p = 0; p < B * T; p++) {
      zH.set(shape.hInit, p * D);
      zL.set(shape.lInit, p * D);
    }
  }
  // slots[j]: which sample sits in slot j of the running batch.
  let slots = Array.from({ length: B }, (_, b) => b);
  let active: ActiveBatch = { inputs, puzzleIdentifiers: request.puzzleIdentifiers, zH, zL, batch: B };

  for (let s = 1; slots.length > 0; s++) {
    const n = slots.length;
    const out = await step(active);
    checkLength('zH', out.zH, n * carrySize);
    checkLength('zL', out.zL, n * carrySize);
    checkLength('logits', out.logits, n * logitsSize);
    checkLength('qHalt', out.qHalt, n);
    checkLength('qContinue', out.qContinue, n);

    changed.fill(0);
    for (let j = 0; j < n; j++) {
      const b = slots[j];
      const stats = stepStatistics(out.logits, j * logitsSize, S, V, predictions, b * S);
      logits.set(out.logits.subarray(j * logitsSize, (j + 1) * logitsSize), b * logitsSize);
      steps[b] = s;
      qHalt[b] = out.qHalt[j];
      qContinue[b] = out.qContinue[j];
      changed[b] = stats.changed;
      confidence[b] = stats.confidence;
      // From the float32 logit (qHalt[b] has been rounded to float32), as the native loop does.
      probability[b] = haltProbability(qHalt[b]);
      unchangedRun[b] = nextUnchangedRun(unchangedRun[b], stats.changed);
      // The float32 confidence, as the trace records it and the native loop compares it.
      const reason = stopReason(s, qHalt[b], confidence[b], unchangedRun[b], request);
      if (reason !== null) {
        halted[b] = 1;
        stoppedBy[b] = reason;
        if (carryOut) {
          carryOut.zH.set(out.zH.subarray(j * carrySize, (j + 1) * carrySize), b * carrySize);
          carryOut.zL.set(out.zL.subarray(j * carrySize, (j + 1) * carrySize), b * carrySize);
        }
      }
    }
    if (trace) {
      // Every sample has an entry; a stopped one repeats its final step, with changed = 0.
      const record: TraceRecord = {
        step: s,
        qHalt: qHalt.slice(),
        qContinue: qContinue.slice(),
        haltProbability: probability.slice(),
        halted: halted.slice(),
        changed: changed.slice(),
        confidence: confidence.slice(),
        stoppedBy: stoppedBy.slice(),
      };
      if (request.traceLogits) record.logits = logits.slice();
      trace.push(record);
    }

    const keep: number[] = [];
    for (let j = 0; j < n; j++) if (!halted[slots[j]]) keep.push(j);
    if (keep.length === 0) break;
    if (keep.length === n) {
      active = { ...active, zH: out.zH, zL: out.zL };
    } else {
      active = {
        inputs: gather(active.inputs, keep, S, (len) => new Int32Array(len)),
        puzzleIdentifiers: gather(active.puzzleIdentifiers, keep, 1, (len) => new Int32Array(len)),
        zH: gather(out.zH, keep, carrySize, (len) => new Float32Array(len)),
        zL: gather(out.zL, keep, carrySize, (len) => new Float32Array(len)),
        batch: keep.length,
      };
      slots = keep.map((j) => slots[j]);
    }
  }

  const result: BackendResult = { predictions, logits, steps, qHalt, qContinue, stoppedBy: stoppedBy as StopReason[] };
  if (trace) result.trace = trace;
  if (carryOut) result.carry = carryOut;
  return result;
}
