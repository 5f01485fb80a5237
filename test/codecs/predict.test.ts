/**
 * Labels out of a model: each slot's answer is the argmax over its allowed tokens with the
 * softmax over those tokens as its probability; the trace reads "step 3: FAIL 0.91 (changed
 * from PASS)"; model.predict agrees with infer + decode on a real (random-weight) model, and
 * token models refuse encode/decode/predict with an error that says why.
 */
import { describe, expect, it } from 'vitest';
import { OptionError, createModel, encodeExample, evaluateModel, formatTrace, parseCodec, parseConfig, randomWeights, slotAnswers } from '../../lib/index';
import type { Prediction } from '../../lib/index';
import { constrainedPredictions } from '../../lib/codecs/predict';
import { NONE } from '../../lib/codecs/tokens';

const codec = parseCodec({
  format: 'trm-codec/1', kind: 'record',
  fields: [{ path: 'a', type: 'number', min: 0, max: 99, decimals: 0 }, { path: 'kind', type: 'category', values: ['x', 'y'] }],
  label: { kind: 'fields', fields: [{ path: 'status', classes: ['FAIL', 'PASS'] }, { path: 'rule', classes: ['none', 'R1'] }] },
});

describe('slot answers', () => {
  it('argmax and softmax over the allowed tokens only', () => {
    const vocab = codec.vocabSize;
    const logits = new Float32Array(codec.seqLen * vocab);
    const [status, rule] = codec.labels.slots;
    // A token outside the slot with the largest logit must not win or count.
    logits[status.position * vocab + 0] = 50;
    logits[status.position * vocab + status.firstToken] = Math.log(3);
    logits[status.position * vocab + status.firstToken + 1] = 0;
    logits[rule.position * vocab + rule.firstToken + 1] = 2;
    const answers = slotAnswers(codec, logits, 0, vocab);
    expect(answers[0]).toMatchObject({ name: 'status', value: 'FAIL', token: status.firstToken });
    expect(answers[0].probability).toBeCloseTo(0.75, 6);
    expect(answers[1].value).toBe('R1');
    expect(answers[1].probability).toBeCloseTo(Math.exp(2) / (1 + Math.exp(2)), 6);
  });

  it('list slots may answer NONE', () => {
    const text = parseCodec({ format: 'trm-codec/1', kind: 'text', encoding: 'utf8-bytes', maxLength: 4, label: { kind: 'list', classes: ['a', 'b'], maxItems: 2 } });
    const vocab = text.vocabSize;
    const logits = new Float32Array(text.seqLen * vocab);
    const [first, second] = text.labels.slots;
    logits[first.position * vocab + first.firstToken + 1] = 5;
    logits[second.position * vocab + NONE] = 5;
    const answers = slotAnswers(text, logits, 0, vocab);
    expect(answers.map((a) => a.value)).toEqual(['b', null]);
  });
});

describe('the readable trace', () => {
  const slot = (name: string, value: string, probability: number, token: number) => ({ name, value, probability, token });
  it('one slot: "step N: LABEL P (changed from OLD)"', () => {
    const p: Prediction = {
      label: 'FAIL', probability: 0.91, slots: [slot('label', 'FAIL', 0.91, 9)], steps: 3, haltProbability: 0.9, notes: [],
      trace: [
        { step: 1, label: 'PASS', slots: [slot('label', 'PASS', 0.55, 8)], haltProbability: 0.1 },
        { step: 2, label: 'PASS', slots: [slot('label', 'PASS', 0.52, 8)], haltProbability: 0.2 },
        { step: 3, label: 'FAIL', slots: [slot('label', 'FAIL', 0.912, 9)], haltProbability: 0.9 },
      ],
    };
    expect(formatTrace(p)).toEqual(['step 1: PASS 0.55', 'step 2: PASS 0.52', 'step 3: FAIL 0.91 (changed from PASS)']);
  });

  it('several slots are named', () => {
    const p: Prediction = {
      label: {}, probability: 1, slots: [slot('status', 'FAIL', 1, 9), slot('rule', 'R1', 1, 12)], steps: 2, haltProbability: 1, notes: [],
      trace: [
        { step: 1, label: {}, slots: [slot('status', 'FAIL', 0.6, 9), slot('rule', 'none', 0.5, 11)], haltProbability: 0 },
        { step: 2, label: {}, slots: [slot('status', 'FAIL', 0.9, 9), slot('rule', 'R1', 0.8, 12)], haltProbability: 1 },
      ],
    };
    expect(formatTrace(p)[1]).toBe('step 2: status FAIL 0.90, rule R1 0.80 (changed from none)');
  });
});

describe('a codec model', () => {
  const config = parseConfig({
    seq_len: codec.seqLen, vocab_size: codec.vocabSize, hidden_size: 32, num_heads: 2, expansion: 2, H_cycles: 1, L_cycles: 1, L_layers: 1,
    halt_max_steps: 4, pos_encodings: 'rope', puzzle_emb_ndim: 0, puzzle_emb_len: 0, num_puzzle_identifiers: 1,
  });
  const weights = randomWeights(config, { seed: 3, qHeadStd: 1 });
  const records = Array.from({ length: 20 }, (_, k) => ({ a: (k * 37) % 100, kind: k % 3 === 0 ? 'y' : 'x' }));

  it('predict = encode, infer, decode; the trace ends at the final answer', async () => {
    const model = createModel(config, weights, { threads: 1 }, codec);
    try {
      const predictions = await model.predict(records, { trace: true, batch: 7 });
      expect(predictions).toHaveLength(20);
      const r = await model.infer({ inputs: records.map((rec) => model.encode(rec).inputs) }, { haltThreshold: 0.5, trace: 'logits' });
      predictions.forEach((p, i) => {
        const again = model.decode(r, i);
        expect(p.label).toEqual(again.label);
        expect(p.steps).toBe(r.steps[i]);
        expect(p.probability).toBeCloseTo(again.slots[0].probability * again.slots[1].probability, 6);
        expect(p.trace).toHaveLength(p.steps);
        expect(p.trace![p.steps - 1].label).toEqual(p.label);
        expect(formatTrace(p)).toHaveLength(p.steps);
        for (const s of p.slots) {
          expect(s.probability).toBeGreaterThanOrEqual(0.5 - 1e-6); // the best of two classes
          expect(s.probability).toBeLessThanOrEqual(1);
        }
      });
    } finally {
      model.dispose();
    }
  });

  it('evaluateModel with the codec scores what predict answers', async () => {
    const model = createModel(config, weights, { threads: 1 }, codec);
    try {
      const predictions = await model.predict(records, { haltThreshold: null });
      // Labels made from the model's own answers must score 100%.
      const examples = records.map((rec, i) => encodeExample(codec, rec, predictions[i].label).example);
      const run = await evaluateModel(model, examples, { haltThreshold: null, decode: (r) => constrainedPredictions(codec, r) });
      expect(run.exactAccuracy).toBe(1);
      expect(run.labelledTokens).toBe(40);
    } finally {
      model.dispose();
    }
  });

  it('a model without a codec refuses encode, decode and predict; bad inputs fail before inference', async () => {
    const tokens = createModel(config, weights, { threads: 1 });
    const model = createModel(config, weights, { threads: 1 }, codec);
    try {
      expect(() => tokens.encode({ a: 1, kind: 'x' })).toThrow(OptionError);
      await expect(tokens.predict([{ a: 1 }])).rejects.toThrow(/predict needs a codec model/);
      await expect(model.predict([{ a: 1, kind: 'x' }, { a: 100, kind: 'x' }])).rejects.toThrow(/number out of range; field: input\.a/);
      await expect(model.predict({ a: 1 } as never)).rejects.toThrow(/list of inputs/);
      expect(() => createModel({ ...config, seq_len: config.seq_len + 1 } as never, randomWeights({ ...config, seq_len: config.seq_len + 1 } as never, { seed: 1 }), {}, codec)).toThrow(/codec does not fit/);
    } finally {
      tokens.dispose();
      model.dispose();
    }
  });
});
