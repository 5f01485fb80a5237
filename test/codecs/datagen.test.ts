/**
 * The labelled-data generators: the same seed gives the same file; compliance labels follow
 * the comparison (equal passes); held-out intents share no utterance, and no slot value, with
 * the training split; `exclude` keeps a held-out set apart.
 */
import { describe, expect, it } from 'vitest';
import { complianceRecords, generateDataset, intentUtterances } from '../../lib/index';
import { intentPools } from '../../lib/datagen/intents';
import { inputKey } from '../../lib/datagen/labelled';

describe('compliance records', () => {
  const records = complianceRecords(2000, 5);

  it('are deterministic and distinct', () => {
    expect(complianceRecords(50, 5)).toEqual(records.slice(0, 50));
    expect(new Set(records.map(inputKey)).size).toBe(2000);
  });

  it('label PASS/FAIL by the comparison, equal passing, and name the rule only on FAIL', () => {
    let equal = 0;
    for (const r of records) {
      const { compliance_check: c, rule_context: rule } = (r.input as any);
      const passes = c.comparison === '>=' ? c.actual_value >= c.required_value : c.actual_value <= c.required_value;
      if (c.actual_value === c.required_value) equal++;
      expect(r.label).toEqual({ status: passes ? 'PASS' : 'FAIL', violated_rule: passes ? 'none' : rule.rule_id });
      expect(Math.round(c.actual_value * 10)).toBeCloseTo(c.actual_value * 10, 9); // one decimal
    }
    // A fifth sit on the requirement, where ">=" and "<=" pass.
    expect(equal / records.length).toBeGreaterThan(0.15);
    expect(equal / records.length).toBeLessThan(0.25);
  });

  it('exclude keeps a held-out set apart', () => {
    const held = complianceRecords(500, 1_000_000_000, { exclude: new Set(records.map(inputKey)) });
    const train = new Set(records.map(inputKey));
    expect(held.filter((r) => train.has(inputKey(r)))).toEqual([]);
  });
});

describe('intents', () => {
  const train = intentUtterances(3000, 0);
  const held = intentUtterances(1000, 1_000_000_000, { split: 'heldout' });

  it('are deterministic; one or two different intents; a third have two', () => {
    expect(intentUtterances(20, 0)).toEqual(train.slice(0, 20));
    const two = train.filter((e) => (e.label as string[]).length === 2);
    expect(two.length / train.length).toBeGreaterThan(0.28);
    expect(two.length / train.length).toBeLessThan(0.42);
    for (const e of two) expect((e.label as string[])[0]).not.toBe((e.label as string[])[1]);
    expect(two.every((e) => / and /i.test(e.input as string))).toBe(true);
  });

  it('held-out utterances are not training utterances, and use slot values training never has', () => {
    const trainTexts = new Set(train.map((e) => (e.input as string).toLowerCase()));
    expect(held.filter((e) => trainTexts.has((e.input as string).toLowerCase()))).toEqual([]);
    const heldOnly = ['oslo', 'lisbon', 'miles davis', 'bathroom', 'renew my passport'];
    for (const value of heldOnly) {
      expect(train.some((e) => (e.input as string).toLowerCase().includes(value))).toBe(false);
      expect(held.some((e) => (e.input as string).toLowerCase().includes(value))).toBe(true);
    }
  });

  it('the two splits share no phrasing, frame or slot value (on/off aside), so held-out templates are never trained on', () => {
    const t = intentPools('train'), h = intentPools('heldout');
    expect(h.phrases.filter((p) => t.phrases.includes(p))).toEqual([]);
    expect(h.frames.filter((f) => f !== '|' && t.frames.includes(f))).toEqual([]);
    for (const [slot, values] of Object.entries(h.slots)) {
      if (slot === 'onoff') continue;
      expect(values.filter((v) => t.slots[slot].includes(v)), slot).toEqual([]);
      // Nor inside a longer training value or phrasing ("5pm" in "5pm sharp").
      for (const v of values) {
        const within = (w: string) => ` ${w} `.includes(` ${v} `);
        expect([...Object.values(t.slots).flat(), ...t.phrases].filter(within), v).toEqual([]);
      }
    }
    expect(h.joiners.every((j) => t.joiners.includes(j))).toBe(true);
  });

  it('training utterances carry fillers and held-out ones do not', () => {
    const filler = /\b(um|uh|basically|kindly|real quick)\b/i;
    expect(train.filter((e) => filler.test(e.input as string)).length).toBeGreaterThan(200);
    expect(held.filter((e) => filler.test(e.input as string))).toEqual([]);
  });

  it('the registry names what it lacks', () => {
    expect(() => generateDataset('weather-reports', 1, 0)).toThrow(/unknown dataset; field: --dataset/);
    expect(() => generateDataset('intents', 1, 0, { split: 'test' })).toThrow(/unknown split/);
    expect(() => generateDataset('compliance-records', 1, 0, { split: 'heldout' })).toThrow(/no splits/);
  });
});
