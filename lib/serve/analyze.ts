/**
 * The TRM v1 analysis of one sample, for callers who do not speak tensors: the input in its
 * task's text form (what `trm solve --input` reads, through the task's own `parse`) or as
 * tokens, and the answer rendered back as text (the task's `format`), with the steps, the
 * halting probability, the confidence, why it stopped, and a per-step trace a person can read.
 */
import { InputError } from '../errors';
import { DEFAULT_THRESHOLD } from '../cli/eval';
import { decodeResult, formatTrace } from '../codecs/predict';
import { stepStatistics } from '../trace';
import type { InferResult } from '../types';
import type { LoadedVersion } from './repository';

export interface AnalysisStep {
  step: number;
  /** The answer as it stood after this step (null for a model without a text form). */
  answer: string | null;
  prediction: number[];
  /** Positions whose prediction changed since the step before (step 1: since the input). */
  changed: number;
  confidence: number;
  haltProbability: number;
  halted: boolean;
  /** Codec models: the label as it stood after this step, its probability, and the step as a line of text
   * (`step 3: FAIL 0.91 (changed from PASS)`, formatTrace's). */
  label?: unknown;
  labelProbability?: number;
  text?: string;
}

export interface Analysis {
  prediction: number[];
  answer: string | null;
  steps: number;
  haltProbability: number;
  /** Mean over positions of the largest softmax probability at the final step. */
  confidence: number;
  /** 'halt' (p(halt) passed the threshold), 'maxSteps', or what the library says. */
  stoppedBy: string;
  /** Codec models (codec.json): the decoded label, and its probability. */
  label?: unknown;
  labelProbability?: number;
  trace?: AnalysisStep[];
}

/** The tokens of one v1 input: text through the task's parser, or a token list as given. */
export function analyzeTokens(version: LoadedVersion, input: string | number[] | Record<string, unknown>, field: string): Int32Array | number[] {
  if (Array.isArray(input)) return input;
  const codec = version.model.codec;
  if (codec !== undefined) {
    try {
      return codec.encodeInput(input).inputs;
    } catch (e) {
      // The codec names the record "input" ("input.compliance_check.actual_value"); the caller knows it as this field.
      if (e instanceof InputError) throw new InputError(e.message.split(';')[0], { field: `${field}${(e.field ?? '').replace(/^input/, '')}`, value: e.value, expected: e.expected });
      throw e;
    }
  }
  if (typeof input !== 'string') {
    throw new InputError('this model reads no records (it has no codec.json)', {
      field, value: input, expected: `its task's text form, or an array of ${version.config.seq_len} token ids`,
    });
  }
  if (!version.task?.parse) {
    throw new InputError('this model has no text form; send its tokens instead', {
      field, value: input, expected: `an array of ${version.config.seq_len} token ids${version.taskProblem ? ` (${version.taskProblem})` : ''}`,
    });
  }
  try {
    return version.task.parse(input);
  } catch (e) {
    // The parser names the text ("text[cell 3]"); the caller knows it as this field.
    if (e instanceof InputError) throw new InputError(e.message.split(';')[0], { field: `${field}${(e.field ?? '').replace(/^text/, '')}`, value: e.value, expected: e.expected });
    throw e;
  }
}

/**
 * The library options of a v1 request: the caller's, with adaptive halting at `trm solve`'s
 * threshold unless it chose, and the trace (per-step logits, for the per-step answers) unless
 * it said `trace: false`. Returns the options and whether the caller wants the trace.
 */
export function analyzeOptions(options: Record<string, unknown> | undefined): { options: Record<string, unknown>; trace: boolean } {
  const given = { ...options };
  const trace = given.trace === undefined ? true : given.trace;
  if (trace !== true && trace !== false) throw new InputError('invalid option', { field: 'options.trace', value: trace, expected: 'true or false' });
  delete given.trace;
  return {
    options: { haltThreshold: DEFAULT_THRESHOLD, ...given, ...(trace && { trace: 'logits' }) },
    trace,
  };
}

function stoppedBy(result: InferResult, sample: number, options: Record<string, unknown>): string {
  const given = (result as unknown as { stoppedBy?: ArrayLike<unknown> }).stoppedBy;
  if (given !== undefined && typeof given[sample] === 'string') return given[sample] as string;
  const threshold = options.haltThreshold;
  const minSteps = typeof options.minSteps === 'number' ? options.minSteps : 1;
  const steps = result.steps[sample];
  const halted = typeof threshold === 'number' && steps >= minSteps && result.haltProbability[sample] > threshold;
  return halted ? 'halt' : 'maxSteps';
}

/** Sample `sample` of a result, as the v1 routes answer it. */
export function analysis(version: LoadedVersion, inputs: Int32Array, sample: number, result: InferResult, options: Record<string, unknown>, withTrace: boolean): Analysis {
  const { seqLen: S, vocabSize: V } = result;
  const sampleInputs = inputs.subarray(sample * S, (sample + 1) * S);
  const render = (tokens: Int32Array) => (version.task ? version.task.format(sampleInputs, tokens) : null);
  const prediction = result.predictions.subarray(sample * S, (sample + 1) * S);
  const argmax = new Int32Array(S);
  const { confidence } = stepStatistics(result.logits, sample * S * V, S, V, argmax, 0);
  const out: Analysis = {
    prediction: Array.from(prediction),
    answer: render(prediction),
    steps: result.steps[sample],
    haltProbability: result.haltProbability[sample],
    confidence,
    stoppedBy: stoppedBy(result, sample, options),
  };
  const codec = version.model.codec;
  const decoded = codec === undefined ? undefined : decodeResult(codec, result, sample);
  const lines = decoded === undefined || !withTrace ? [] : formatTrace(decoded);
  if (decoded !== undefined) {
    out.label = decoded.label;
    out.labelProbability = decoded.probability;
    out.answer = labelText(decoded.label);
  }
  if (withTrace && result.trace) {
    out.trace = result.trace.slice(0, result.steps[sample]).map((record, i) => {
      const tokens = new Int32Array(S);
      if (record.logits) stepStatistics(record.logits, sample * S * V, S, V, tokens, 0);
      return {
        step: record.step,
        answer: record.logits ? render(tokens) : null,
        prediction: Array.from(tokens),
        changed: record.changed[sample],
        confidence: record.confidence[sample],
        haltProbability: record.haltProbability[sample],
        halted: record.halted[sample] === 1,
        ...(decoded?.trace?.[i] !== undefined && {
          answer: labelText(decoded.trace[i].label), label: decoded.trace[i].label, labelProbability: decoded.trace[i].probability, text: lines[i],
        }),
      };
    });
  }
  return out;
}

/** A codec label as one line of text: a class as it is, label fields or lists as JSON. */
function labelText(label: unknown): string {
  return typeof label === 'string' ? label : JSON.stringify(label);
}
