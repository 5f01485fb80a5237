/**
 * A codec model's answers as labels: at each label slot the class whose logit is highest
 * among the tokens that slot allows (its classes, and NONE in list slots), with its
 * probability, the softmax over those tokens alone. With a trace, the same for every ACT
 * step, so a reader sees the answer form: "step 3: FAIL 0.91 (changed from PASS)".
 */
import { OptionError } from '../errors';
import type { TrmModel } from '../trm-model';
import type { InferOptions, InferResult } from '../types';
import type { Codec } from './codec';
import type { EncodeNote } from './codec-types';
import type { Scalar } from './labels';
import { NONE } from './tokens';

export interface SlotAnswer {
  /** The slot: 'label', a label field's path, or 'label[i]'. */
  name: string;
  /** The class, or null for NONE (an unused list slot). */
  value: Scalar | null;
  /** Softmax over the slot's allowed tokens. */
  probability: number;
  token: number;
}

export interface StepAnswer {
  step: number;
  label: unknown;
  /** The product of the slots' probabilities at this step. */
  probability: number;
  slots: SlotAnswer[];
  haltProbability: number;
}

export interface Prediction {
  /** The label as the training data writes it: a class, an object of label fields, or a list. */
  label: unknown;
  /** The product of the slots' probabilities (each slot's softmax over its allowed tokens). */
  probability: number;
  slots: SlotAnswer[];
  /** ACT steps run. */
  steps: number;
  haltProbability: number;
  /** Steps 1..steps, with trace: true. */
  trace?: StepAnswer[];
  /** Unknown category values and truncated text in this input. */
  notes: EncodeNote[];
}

export interface PredictOptions {
  /** Adaptive halting threshold on sigmoid(q_halt); default 0.5. null runs every step. */
  haltThreshold?: number | null;
  maxSteps?: number;
  /** Record each step's answer (default false). */
  trace?: boolean;
  /** Inputs per inference call (default 64). */
  batch?: number;
}

/** The answer at every slot of one sample, from its logits ([seqLen * vocab] at `offset`). */
export function slotAnswers(codec: Codec, logits: ArrayLike<number>, offset: number, vocab: number): SlotAnswer[] {
  return codec.labels.slots.map((slot) => {
    const tokens = slot.classes.map((_, k) => slot.firstToken + k);
    if (slot.allowsNone) tokens.push(NONE);
    const row = offset + slot.position * vocab;
    let best = tokens[0];
    for (const t of tokens) if (logits[row + t] > logits[row + best]) best = t;
    let z = 0;
    for (const t of tokens) z += Math.exp(logits[row + t] - logits[row + best]);
    const value = best === NONE && slot.allowsNone ? null : slot.classes[best - slot.firstToken];
    return { name: slot.name, value, probability: 1 / z, token: best };
  });
}

function labelOf(codec: Codec, slots: SlotAnswer[]): unknown {
  const tokens = new Int32Array(codec.seqLen);
  codec.labels.slots.forEach((slot, k) => { tokens[slot.position] = slots[k].token; });
  return codec.labels.decode(tokens);
}

/**
 * The predictions of an inference result with each label slot's argmax taken over its allowed
 * tokens only (the other positions as the model gave them): what `evaluateModel` scores for
 * a codec model, so its accuracy is that of `predict`.
 */
export function constrainedPredictions(codec: Codec, result: InferResult): Int32Array {
  const out = result.predictions.slice();
  const { seqLen, vocabSize } = result;
  for (let b = 0; b < result.batch; b++) {
    const answers = slotAnswers(codec, result.logits, b * seqLen * vocabSize, vocabSize);
    codec.labels.slots.forEach((slot, k) => { out[b * seqLen + slot.position] = answers[k].token; });
  }
  return out;
}

/** A label's probability: the product of its slots' (each slot's softmax over its allowed tokens). */
function jointProbability(slots: readonly SlotAnswer[]): number {
  return slots.reduce((p, slot) => p * slot.probability, 1);
}

/** The prediction of sample `index` of `result` (with its trace when the call recorded one with logits). */

export function decodeResult(codec: Codec, result: InferResult, index = 0, notes: EncodeNote[] = []): Prediction {
  if (!(Number.isInteger(index) && index >= 0 && index < result.batch)) {
    throw new OptionError('no such sample in the result', { field: 'index', value: index, expected: `an integer in [0, ${result.batch})` });
  }
  const { seqLen, vocabSize } = result;
  const slots = slotAnswers(codec, result.logits, index * seqLen * vocabSize, vocabSize);
  const steps = result.steps[index];
  const prediction: Prediction = {
    label: labelOf(codec, slots),
    probability: jointProbability(slots),
    slots,
    steps,
    haltProbability: result.haltProbability[index],
    notes,
  };
  if (result.trace && result.trace[0]?.logits) {
    prediction.trace = result.trace.slice(0, steps).map((rec) => {
      const stepSlots = slotAnswers(codec, rec.logits!, index * seqLen * vocabSize, vocabSize);
      return {
        step: rec.step, label: labelOf(codec, stepSlots), probability: jointProbability(stepSlots),
        slots: stepSlots, haltProbability: rec.haltProbability[index],
      };
    });
  }
  return prediction;
}

/** Encodes `inputs`, runs the model (adaptive halting by default) and decodes the labels. */
export async function predictInputs(model: TrmModel, codec: Codec, inputs: readonly unknown[], options: PredictOptions = {}): Promise<Prediction[]> {
  const batch = options.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1) throw new OptionError('invalid batch size', { field: 'batch', value: batch, expected: 'an integer >= 1' });
  // Every input is encoded before the model runs, so a bad one fails the call before any work.
  const encoded = inputs.map((input) => codec.encodeInput(input));
  const infer: InferOptions = {
    haltThreshold: options.haltThreshold === undefined ? 0.5 : options.haltThreshold,
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.trace ? { trace: 'logits' as const } : {}),
  };
  const out: Prediction[] = [];
  for (let start = 0; start < encoded.length; start += batch) {
    const chunk = encoded.slice(start, start + batch);
    const result = await model.infer({ inputs: chunk.map((e) => e.inputs) }, infer);
    chunk.forEach((e, i) => out.push(decodeResult(codec, result, i, e.notes)));
  }
  return out;
}

function slotText(slot: SlotAnswer): string {
  return `${slot.value === null ? 'NONE' : String(slot.value)} ${slot.probability.toFixed(2)}`;
}

/**
 * The trace as lines for people. One label slot: "step 3: FAIL 0.91 (changed from PASS)";
 * several: "step 3: status FAIL 0.91 (changed from PASS), violated_rule IBC-1011.2 0.88".
 */
export function formatTrace(prediction: Prediction): string[] {
  if (!prediction.trace) return [];
  const named = prediction.slots.length > 1;
  return prediction.trace.map((step, s) => {
    const before = s > 0 ? prediction.trace![s - 1].slots : undefined;
    const parts = step.slots.map((slot, k) => {
      const change = before && before[k].token !== slot.token ? ` (changed from ${before[k].value === null ? 'NONE' : String(before[k].value)})` : '';
      return `${named ? `${slot.name} ` : ''}${slotText(slot)}${change}`;
    });
    return `step ${step.step}: ${parts.join(', ')}`;
  });
}

/** Fraction of examples whose slot k is right, per slot, from constrained predictions ([count * seqLen]). */
export function slotAccuracy(codec: Codec, predictions: Int32Array, labels: readonly Int32Array[]): Array<{ name: string; accuracy: number }> {
  const seqLen = codec.seqLen;
  return codec.labels.slots.map((slot) => {
    let right = 0;
    labels.forEach((l, i) => { if (predictions[i * seqLen + slot.position] === l[slot.position]) right++; });
    return { name: slot.name, accuracy: labels.length === 0 ? 0 : right / labels.length };
  });
}
