/**
 * Rule compliance, like a building-code check: each example lists 1-4 clauses "this element,
 * measured at this value, under this rule with this threshold", and asks for PASS/FAIL per
 * clause and the rule of the first failing clause (NONE when all pass). Thresholds vary per
 * example (a code edition, a jurisdiction) and many measurements sit on or within a few
 * units of them, so the model has to compare the digits; it cannot memorise one limit per rule.
 *
 * Layout (seq_len 41): 4 clause slots of 10 tokens, then 1 answer slot.
 *   slot j, positions 10j..10j+9: element, rule, comparison, measured (3 digits, zero
 *   padded), threshold (3 digits), QUERY. Label: PASS or FAIL at the QUERY, -100 elsewhere.
 *   Unused slots (after the last clause) are PAD with labels -100.
 *   position 40: QUERY; label: the rule token of the first failing clause, or NONE.
 * A measurement equal to its threshold passes (AT_LEAST: measured >= threshold; AT_MOST:
 * measured <= threshold). docs/tasks.md has the token table.
 */
import { InputError } from '../errors';
import { SeededRandom } from '../util/seeded-random';
import {
  Example, GenerateOptions, IGNORE_LABEL, Task, checkCount, checkIntOption, checkOptionKeys, collectDistinct, exactMatch, permutation, randomInt,
} from './task';

export const COMPLIANCE_PAD = 0;
export const COMPLIANCE_QUERY = 1;
/** Token of decimal digit d is DIGIT_0 + d. */
export const COMPLIANCE_DIGIT_0 = 2;
export const COMPLIANCE_AT_LEAST = 12;
export const COMPLIANCE_AT_MOST = 13;
export const COMPLIANCE_PASS = 14;
export const COMPLIANCE_FAIL = 15;
export const COMPLIANCE_NONE = 16;

export const ELEMENTS = ['stair', 'ramp', 'door', 'corridor', 'railing', 'window'] as const;
export type ElementName = (typeof ELEMENTS)[number];
export const ELEMENT_TOKEN_0 = 17;

export const RULES = [
  { name: 'min_width', comparison: COMPLIANCE_AT_LEAST },
  { name: 'min_height', comparison: COMPLIANCE_AT_LEAST },
  { name: 'min_tread', comparison: COMPLIANCE_AT_LEAST },
  { name: 'min_headroom', comparison: COMPLIANCE_AT_LEAST },
  { name: 'min_sill_height', comparison: COMPLIANCE_AT_LEAST },
  { name: 'max_riser', comparison: COMPLIANCE_AT_MOST },
  { name: 'max_slope', comparison: COMPLIANCE_AT_MOST },
  { name: 'max_opening', comparison: COMPLIANCE_AT_MOST },
] as const;
export type RuleName = (typeof RULES)[number]['name'];
export const RULE_TOKEN_0 = ELEMENT_TOKEN_0 + ELEMENTS.length; // 23

export const COMPLIANCE_VOCAB = RULE_TOKEN_0 + RULES.length; // 31
export const CLAUSE_SLOTS = 4;
export const CLAUSE_WIDTH = 10;
export const ANSWER_POSITION = CLAUSE_SLOTS * CLAUSE_WIDTH; // 40
export const COMPLIANCE_SEQ_LEN = ANSWER_POSITION + 1;
/** Offsets inside a clause slot. */
const AT = { element: 0, rule: 1, comparison: 2, measured: 3, threshold: 6, verdict: 9 } as const;
const MAX_VALUE = 999;

/**
 * The checks a clause can make: which rule applies to which element, its unit, and the range
 * real codes put the threshold in (values in that unit; all fit 3 digits).
 */
export const CHECKS: ReadonlyArray<{ element: ElementName; rule: RuleName; unit: string; threshold: [number, number] }> = [
  { element: 'stair', rule: 'min_width', unit: 'cm', threshold: [80, 120] },
  { element: 'stair', rule: 'max_riser', unit: 'mm', threshold: [150, 200] },
  { element: 'stair', rule: 'min_tread', unit: 'mm', threshold: [250, 300] },
  { element: 'stair', rule: 'min_headroom', unit: 'cm', threshold: [195, 220] },
  { element: 'ramp', rule: 'min_width', unit: 'cm', threshold: [90, 150] },
  { element: 'ramp', rule: 'max_slope', unit: 'per mille', threshold: [50, 100] },
  { element: 'door', rule: 'min_width', unit: 'cm', threshold: [75, 95] },
  { element: 'door', rule: 'min_height', unit: 'cm', threshold: [195, 210] },
  { element: 'corridor', rule: 'min_width', unit: 'cm', threshold: [90, 180] },
  { element: 'corridor', rule: 'min_headroom', unit: 'cm', threshold: [200, 240] },
  { element: 'railing', rule: 'min_height', unit: 'cm', threshold: [85, 110] },
  { element: 'railing', rule: 'max_opening', unit: 'mm', threshold: [90, 120] },
  { element: 'window', rule: 'min_sill_height', unit: 'cm', threshold: [80, 110] },
  { element: 'window', rule: 'min_width', unit: 'cm', threshold: [50, 60] },
];

export interface Clause {
  element: ElementName;
  rule: RuleName;
  measured: number;
  threshold: number;
}

export interface ComplianceOptions extends GenerateOptions {
  /** Fewest clauses per example (default 1). */
  minClauses?: number;
  /** Most clauses per example (default 4, the slot count). */
  maxClauses?: number;
}

const OPTION_KEYS = ['minClauses', 'maxClauses', 'exclude'] as const;

export function clausePasses(clause: Clause): boolean {
  const rule = RULES.find((r) => r.name === clause.rule)!;
  return rule.comparison === COMPLIANCE_AT_LEAST ? clause.measured >= clause.threshold : clause.measured <= clause.threshold;
}

/** Input tokens and labels of a clause list (at most CLAUSE_SLOTS clauses). */
export function encodeClauses(clauses: readonly Clause[]): Example {
  if (clauses.length < 1 || clauses.length > CLAUSE_SLOTS) {
    throw new InputError('wrong number of clauses', { field: 'clauses', value: clauses.length, expected: `1 to ${CLAUSE_SLOTS} clauses` });
  }
  const inputs = new Int32Array(COMPLIANCE_SEQ_LEN).fill(COMPLIANCE_PAD);
  const labels = new Int32Array(COMPLIANCE_SEQ_LEN).fill(IGNORE_LABEL);
  let firstFailure = COMPLIANCE_NONE;
  clauses.forEach((clause, j) => {
    const base = j * CLAUSE_WIDTH;
    const ruleIndex = RULES.findIndex((r) => r.name === clause.rule);
    inputs[base + AT.element] = ELEMENT_TOKEN_0 + ELEMENTS.indexOf(clause.element);
    inputs[base + AT.rule] = RULE_TOKEN_0 + ruleIndex;
    inputs[base + AT.comparison] = RULES[ruleIndex].comparison;
    writeNumber(inputs, base + AT.measured, clause.measured, 'measured');
    writeNumber(inputs, base + AT.threshold, clause.threshold, 'threshold');
    inputs[base + AT.verdict] = COMPLIANCE_QUERY;
    const passes = clausePasses(clause);
    labels[base + AT.verdict] = passes ? COMPLIANCE_PASS : COMPLIANCE_FAIL;
    if (!passes && firstFailure === COMPLIANCE_NONE) firstFailure = RULE_TOKEN_0 + ruleIndex;
  });
  inputs[ANSWER_POSITION] = COMPLIANCE_QUERY;
  labels[ANSWER_POSITION] = firstFailure;
  return { inputs, labels, puzzleIdentifier: 0 };
}

/** The clauses of an input sequence (the inverse of encodeClauses on its inputs). */
export function decodeClauses(inputs: Int32Array): Clause[] {
  const clauses: Clause[] = [];
  for (let j = 0; j < CLAUSE_SLOTS; j++) {
    const base = j * CLAUSE_WIDTH;
    if (inputs[base + AT.element] === COMPLIANCE_PAD) break;
    const element = ELEMENTS[inputs[base + AT.element] - ELEMENT_TOKEN_0];
    const rule = RULES[inputs[base + AT.rule] - RULE_TOKEN_0];
    if (element === undefined || rule === undefined) {
      throw new InputError('not a compliance clause', { field: `inputs[${base}]`, value: Array.from(inputs.subarray(base, base + CLAUSE_WIDTH)), expected: 'element, rule, comparison, 3 + 3 digits, QUERY' });
    }
    clauses.push({ element, rule: rule.name, measured: readNumber(inputs, base + AT.measured), threshold: readNumber(inputs, base + AT.threshold) });
  }
  return clauses;
}

function writeNumber(tokens: Int32Array, at: number, value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
    throw new InputError('value does not fit 3 digits', { field, value, expected: `an integer in [0, ${MAX_VALUE}]` });
  }
  tokens[at] = COMPLIANCE_DIGIT_0 + Math.floor(value / 100);
  tokens[at + 1] = COMPLIANCE_DIGIT_0 + (Math.floor(value / 10) % 10);
  tokens[at + 2] = COMPLIANCE_DIGIT_0 + (value % 10);
}

function readNumber(tokens: Int32Array, at: number): number {
  let value = 0;
  for (let k = 0; k < 3; k++) {
    const d = tokens[at + k] - COMPLIANCE_DIGIT_0;
    if (!(d >= 0 && d <= 9)) throw new InputError('not a digit token', { field: `inputs[${at + k}]`, value: tokens[at + k], expected: `a digit token ${COMPLIANCE_DIGIT_0}-${COMPLIANCE_DIGIT_0 + 9}` });
    value = value * 10 + d;
  }
  return value;
}

export class ComplianceTask implements Task<ComplianceOptions> {
  readonly name = 'compliance';
  readonly seqLen = COMPLIANCE_SEQ_LEN;
  readonly vocabSize = COMPLIANCE_VOCAB;
  readonly numPuzzleIdentifiers = 1;
  readonly tokenNames: readonly string[] = [
    'PAD', 'QUERY', ...Array.from({ length: 10 }, (_, d) => String(d)), 'AT_LEAST', 'AT_MOST', 'PASS', 'FAIL', 'NONE',
    ...ELEMENTS, ...RULES.map((r) => r.name),
  ];

  generate(count: number, seed: number, options: ComplianceOptions = {}): Example[] {
    checkCount(count);
    checkOptionKeys(this.name, options, OPTION_KEYS);
    const minClauses = checkIntOption('minClauses', options.minClauses ?? 1, 1, CLAUSE_SLOTS);
    const maxClauses = checkIntOption('maxClauses', options.maxClauses ?? CLAUSE_SLOTS, minClauses, CLAUSE_SLOTS);
    const rng = new SeededRandom(seed, this.name);
    return collectDistinct(count, options.exclude, () => {
      const n = minClauses + randomInt(rng, maxClauses - minClauses + 1);
      return encodeClauses(Array.from({ length: n }, () => randomClause(rng)));
    }, this.name);
  }

  /** Shuffles the clause order: each verdict moves with its clause and the first failure is recomputed. */
  augment(example: Example, rng: SeededRandom): Example {
    const clauses = decodeClauses(example.inputs);
    const order = permutation(clauses.length, rng);
    const out = encodeClauses(Array.from(order, (k) => clauses[k]));
    out.puzzleIdentifier = example.puzzleIdentifier;
    return out;
  }

  isCorrect(predictions: Int32Array, example: Example): boolean {
    return exactMatch(predictions, example.labels);
  }

  format(inputs: Int32Array, outputs?: Int32Array): string {
    const name = (t: number | undefined): string => (t === undefined ? '?' : t === COMPLIANCE_QUERY ? '?' : (this.tokenNames[t] ?? `<${t}>`));
    const lines = decodeClauses(inputs).map((clause, j) => {
      const check = CHECKS.find((c) => c.element === clause.element && c.rule === clause.rule);
      const unit = check ? ` ${check.unit}` : '';
      const op = RULES.find((r) => r.name === clause.rule)!.comparison === COMPLIANCE_AT_LEAST ? '>=' : '<=';
      const verdict = name(outputs?.[j * CLAUSE_WIDTH + AT.verdict]);
      return `${j + 1}. ${clause.element} ${clause.rule}: ${clause.measured}${unit} ${op} ${clause.threshold}${unit} -> ${verdict}`;
    });
    lines.push(`first violation: ${name(outputs?.[ANSWER_POSITION]).replace('NONE', 'none')}`);
    return lines.join('\n');
  }

  /** The clauses as `parse` reads them: "door min_width 80 85; stair max_riser 175 180". */
  inputText(inputs: Int32Array): string {
    return decodeClauses(inputs).map((c) => `${c.element} ${c.rule} ${c.measured} ${c.threshold}`).join('; ');
  }

  /**
   * Clauses separated by ';' or new lines, each "ELEMENT RULE MEASURED THRESHOLD", e.g.
   * "door min_width 80 85; stair max_riser 175 180". The pair must be one of CHECKS.
   */
  parse(text: string): Int32Array {
    const parts = text.split(/[;\n]/).map((p) => p.trim()).filter((p) => p !== '');
    const clauses = parts.map((part, k): Clause => {
      const words = part.split(/\s+/);
      const field = `text[clause ${k + 1}]`;
      if (words.length !== 4) throw new InputError('a clause is "ELEMENT RULE MEASURED THRESHOLD"', { field, value: part, expected: 'e.g. "door min_width 80 85"' });
      const [element, rule, measured, threshold] = words;
      if (!CHECKS.some((c) => c.element === element && c.rule === rule)) {
        throw new InputError('unknown check', { field, value: `${element} ${rule}`, expected: CHECKS.map((c) => `${c.element} ${c.rule}`).join(', ') });
      }
      const number = (word: string, what: string): number => {
        if (!/^\d{1,3}$/.test(word)) throw new InputError(`the ${what} is not a number in [0, ${MAX_VALUE}]`, { field, value: word, expected: 'an integer of at most 3 digits' });
        return Number(word);
      };
      return { element: element as ElementName, rule: rule as RuleName, measured: number(measured, 'measurement'), threshold: number(threshold, 'threshold') };
    });
    return encodeClauses(clauses).inputs;
  }

  /**
   * The shipped model's architecture (models/compliance): mlp_t token mixing, hidden 128,
   * H2 x L2, 4 ACT steps. On 1-4 clauses it sits on the all-PASS plateau for about 2500 steps
   * before it learns (one check per input: about 400); attention with RoPE at this size stayed
   * on that plateau for 750 steps even on single checks. The model card has the figures.
   */
  suggestedConfig(): Record<string, unknown> {
    return {
      task: this.name,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      num_puzzle_identifiers: this.numPuzzleIdentifiers,
      hidden_size: 128,
      num_heads: 2,
      expansion: 4,
      H_cycles: 2,
      L_cycles: 2,
      L_layers: 2,
      halt_max_steps: 4,
      halt_exploration_prob: 0.1,
      pos_encodings: 'none',
      mlp_t: true,
      puzzle_emb_ndim: 0,
      puzzle_emb_len: 0,
      no_ACT_continue: true,
    };
  }
}

/**
 * A random clause: a check from CHECKS, a threshold in its range, and a measurement that is
 * on the threshold 20% of the time, within 10 units of it 40% of the time (often crossing a
 * tens or hundreds digit), and anywhere within +-50% of it otherwise.
 */
function randomClause(rng: SeededRandom): Clause {
  const check = CHECKS[randomInt(rng, CHECKS.length)];
  const [lo, hi] = check.threshold;
  const threshold = lo + randomInt(rng, hi - lo + 1);
  const mode = randomInt(rng, 10);
  let measured: number;
  if (mode < 2) {
    measured = threshold;
  } else if (mode < 6) {
    const delta = 1 + randomInt(rng, 10);
    measured = threshold + (rng.nextU32() % 2 === 0 ? delta : -delta);
  } else {
    const spread = Math.floor(threshold / 2);
    measured = threshold - spread + randomInt(rng, 2 * spread + 1);
  }
  return { element: check.element, rule: check.rule, measured: Math.max(0, Math.min(MAX_VALUE, measured)), threshold };
}
