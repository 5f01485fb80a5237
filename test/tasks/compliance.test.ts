/**
 * Rule compliance: labels agree with a re-evaluation of the rules from tokens decoded here
 * with the table of docs/tasks.md (not with lib's decoder), the numbers matter (no shortcut
 * that skips digits gets close), and augmentation keeps the labels right.
 */
import { describe, expect, it } from 'vitest';
import { InputError, OptionError, SeededRandom } from '../../lib/index';
import { ComplianceTask } from '../../lib/tasks/compliance';
import type { Example } from '../../lib/tasks/task';

// docs/tasks.md, "Rule compliance".
const PAD = 0, QUERY = 1, DIGIT0 = 2, AT_LEAST = 12, AT_MOST = 13, PASS = 14, FAIL = 15, NONE = 16;
const ELEMENT_TOKENS = [17, 18, 19, 20, 21, 22];
const RULE_TOKENS = [23, 24, 25, 26, 27, 28, 29, 30];
const MIN_RULES = [23, 24, 25, 26, 27], MAX_RULES = [28, 29, 30];
const IGNORE = -100;

interface Decoded { element: number; rule: number; cmp: number; measured: number; threshold: number }

function decode(inputs: Int32Array): Decoded[] {
  expect(inputs.length).toBe(41);
  const clauses: Decoded[] = [];
  for (let j = 0; j < 4; j++) {
    const slot = Array.from(inputs.subarray(10 * j, 10 * j + 10));
    if (slot[0] === PAD) {
      expect(slot.every((t) => t === PAD)).toBe(true);
      continue;
    }
    expect(clauses.length).toBe(j); // clauses fill the first slots
    const num = (a: number[]): number => a.reduce((v, t) => {
      expect(t).toBeGreaterThanOrEqual(DIGIT0);
      expect(t).toBeLessThanOrEqual(DIGIT0 + 9);
      return v * 10 + (t - DIGIT0);
    }, 0);
    expect(ELEMENT_TOKENS).toContain(slot[0]);
    expect(RULE_TOKENS).toContain(slot[1]);
    expect(slot[2]).toBe(MIN_RULES.includes(slot[1]) ? AT_LEAST : AT_MOST);
    expect(slot[9]).toBe(QUERY);
    clauses.push({ element: slot[0], rule: slot[1], cmp: slot[2], measured: num(slot.slice(3, 6)), threshold: num(slot.slice(6, 9)) });
  }
  expect(inputs[40]).toBe(QUERY);
  return clauses;
}

const passes = (c: Decoded): boolean => (c.cmp === AT_LEAST ? c.measured >= c.threshold : c.measured <= c.threshold);

function expectLabelsRight(example: Example): Decoded[] {
  const clauses = decode(example.inputs);
  expect(clauses.length).toBeGreaterThanOrEqual(1);
  const want = new Int32Array(41).fill(IGNORE);
  clauses.forEach((c, j) => { want[10 * j + 9] = passes(c) ? PASS : FAIL; });
  const firstFail = clauses.find((c) => !passes(c));
  want[40] = firstFail ? firstFail.rule : NONE;
  expect(Array.from(example.labels)).toEqual(Array.from(want));
  return clauses;
}

describe('compliance', () => {
  const task = new ComplianceTask();

  it('has the documented shape', () => {
    expect([task.name, task.seqLen, task.vocabSize, task.numPuzzleIdentifiers]).toEqual(['compliance', 41, 31, 1]);
    expect(MAX_RULES.length + MIN_RULES.length).toBe(RULE_TOKENS.length);
  });

  it('labels every clause and the first violation as the rules say', () => {
    const examples = task.generate(3000, 1);
    const clauseCounts = new Set<number>();
    const answers = new Map<number, number>();
    for (const example of examples) {
      const clauses = expectLabelsRight(example);
      clauseCounts.add(clauses.length);
      answers.set(example.labels[40], (answers.get(example.labels[40]) ?? 0) + 1);
    }
    expect([...clauseCounts].sort()).toEqual([1, 2, 3, 4]);
    for (const t of [NONE, ...RULE_TOKENS]) expect(answers.get(t) ?? 0).toBeGreaterThan(30);
  });

  it('needs every digit: near-threshold cases are common, and shortcuts fall well short of 98%', () => {
    const clauses = task.generate(3000, 2).flatMap((e) => decode(e.inputs));
    const n = clauses.length;
    const passRate = clauses.filter(passes).length / n;
    expect(passRate).toBeGreaterThan(0.35);
    expect(passRate).toBeLessThan(0.65);
    expect(clauses.filter((c) => c.measured === c.threshold).length / n).toBeGreaterThan(0.1);
    // Best guess per rule without looking at the numbers.
    let byRuleCorrect = 0;
    for (const rule of RULE_TOKENS) {
      const mine = clauses.filter((c) => c.rule === rule);
      const p = mine.filter(passes).length;
      byRuleCorrect += Math.max(p, mine.length - p);
    }
    expect(byRuleCorrect / n).toBeLessThan(0.7);
    // Comparing without the units digit (ties go to PASS).
    const noUnits = clauses.filter((c) => {
      const m = Math.floor(c.measured / 10), t = Math.floor(c.threshold / 10);
      return (c.cmp === AT_LEAST ? m >= t : m <= t) === passes(c);
    }).length;
    console.log(`compliance shortcuts: per-rule guess ${(byRuleCorrect / n).toFixed(3)}, no units digit ${(noUnits / n).toFixed(3)}, pass rate ${passRate.toFixed(3)}`);
    expect(noUnits / n).toBeLessThan(0.92);
    // Ignoring the comparison direction (always AT_LEAST).
    expect(clauses.filter((c) => (c.measured >= c.threshold) === passes(c)).length / n).toBeLessThan(0.85);
  });

  it('honours minClauses/maxClauses and rejects bad options', () => {
    for (const example of task.generate(50, 3, { minClauses: 2, maxClauses: 3 })) {
      const k = decode(example.inputs).length;
      expect(k).toBeGreaterThanOrEqual(2);
      expect(k).toBeLessThanOrEqual(3);
    }
    expect(() => task.generate(1, 1, { maxClauses: 5 })).toThrow(OptionError);
    expect(() => task.generate(1, 1, { minClauses: 3, maxClauses: 2 })).toThrow(/maxClauses/);
  });

  it('is deterministic per seed, with distinct examples', () => {
    const a = task.generate(500, 9), b = task.generate(500, 9);
    expect(a.map((e) => e.inputs.join())).toEqual(b.map((e) => e.inputs.join()));
    expect(new Set(a.map((e) => e.inputs.join())).size).toBe(500);
    expect(task.generate(5, 10).map((e) => e.inputs.join())).not.toEqual(a.slice(0, 5).map((e) => e.inputs.join()));
  });

  it('augments by reordering clauses, with the labels still right', () => {
    const rng = new SeededRandom(1);
    let reordered = 0;
    for (const example of task.generate(200, 4, { minClauses: 3 })) {
      const aug = task.augment(example, rng);
      const before = decode(example.inputs).map((c) => JSON.stringify(c)).sort();
      const after = expectLabelsRight(aug).map((c) => JSON.stringify(c)).sort();
      expect(after).toEqual(before);
      if (aug.inputs.join() !== example.inputs.join()) reordered++;
    }
    expect(reordered).toBeGreaterThan(150);
  });
});

describe('compliance text', () => {
  const task = new ComplianceTask();

  it('parses clauses and formats inputs with labels', () => {
    const inputs = task.parse('door min_width 80 85; stair max_riser 175 180\nramp max_slope 83 83');
    const clauses = decode(inputs);
    expect(clauses.map((c) => [c.element, c.rule, c.measured, c.threshold])).toEqual([[19, 23, 80, 85], [17, 28, 175, 180], [18, 29, 83, 83]]);
    const example = task.generate(1, 1, { minClauses: 4 })[0];
    const text = task.format(example.inputs, example.labels);
    expect(text.split('\n').length).toBe(5);
    expect(text).toMatch(/first violation: /);
    expect(task.format(example.inputs)).toContain('-> ?');
  });

  it('writes inputs back in the text form parse reads', () => {
    expect(task.inputText(task.parse('door min_width 80 85\nstair max_riser 175 180'))).toBe('door min_width 80 85; stair max_riser 175 180');
    for (const example of task.generate(50, 3, { minClauses: 1, maxClauses: 4 })) {
      expect(Array.from(task.parse(task.inputText(example.inputs)))).toEqual(Array.from(example.inputs));
    }
  });

  it('rejects malformed clauses with an InputError naming the clause', () => {
    expect(() => task.parse('door min_width 80')).toThrow(InputError);
    expect(() => task.parse('door min_width 80 85; door max_slope 80 85')).toThrow(/clause 2/);
    expect(() => task.parse('door min_width 1000 85')).toThrow(/3 digits/);
    expect(() => task.parse('')).toThrow(/clauses/);
    expect(() => task.parse(Array(5).fill('door min_width 80 85').join(';'))).toThrow(/1 to 4 clauses/);
  });
});
