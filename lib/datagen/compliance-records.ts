/**
 * Compliance check records as the compliance team writes them, labelled: one element, one
 * rule, the measured (actual) value against the required one, and the comparison the rule
 * makes, to PASS/FAIL and the violated rule ("none" when it passes).
 *
 *   {"input": {"element_features": {"type": "door", "storey": 2, "fire_rated": true},
 *              "rule_context": {"rule_id": "IBC-1010.1.1", "severity": "major"},
 *              "compliance_check": {"actual_value": 81.5, "required_value": 85, "comparison": ">="}},
 *    "label": {"status": "FAIL", "violated_rule": "IBC-1010.1.1"}}
 *
 * The checks are lib/tasks/compliance.ts's CHECKS (element, rule, unit, the range codes put
 * the requirement in), each with a rule id. Actual values have one decimal; a fifth of them
 * sit exactly on the requirement, two fifths within 10 units of it (often across a tens
 * digit) and the rest anywhere within +-50%, so the label hangs on the digits. `storey` and
 * `fire_rated` are there as real records have them, optional and without effect on the label.
 * A value equal to the requirement passes (">=" and "<=").
 */
import { SeededRandom } from '../util/seeded-random';
import { CHECKS } from '../tasks/compliance';
import { checkCount, randomInt } from '../tasks/task';
import { distinctRecords, type LabelledExample } from './labelled';

/** A rule id per check of CHECKS, in its order (building-code style section numbers). */
export const RULE_IDS = [
  'IBC-1011.2', 'IBC-1011.5.2a', 'IBC-1011.5.2b', 'IBC-1011.3', 'ADA-405.5', 'ADA-405.2', 'IBC-1010.1.1', 'IBC-1010.1.1.1',
  'IBC-1020.2', 'IBC-1020.3', 'IBC-1015.3', 'IBC-1015.4', 'IBC-1015.8', 'IRC-R310.2.1',
] as const;
export const SEVERITIES = ['critical', 'major', 'minor'] as const;

export interface ComplianceRecordOptions {
  /** Records the result must not contain (their JSON input), e.g. the training set for a held-out set. */
  exclude?: ReadonlySet<string>;
}

export function complianceRecords(count: number, seed: number, options: ComplianceRecordOptions = {}): LabelledExample[] {
  checkCount(count);
  const rng = new SeededRandom(seed, 'compliance-records');
  return distinctRecords(count, options.exclude, () => randomRecord(rng), 'compliance-records');
}

function randomRecord(rng: SeededRandom): LabelledExample {
  const k = randomInt(rng, CHECKS.length);
  const check = CHECKS[k];
  const [lo, hi] = check.threshold;
  const required = lo + randomInt(rng, hi - lo + 1);
  const mode = randomInt(rng, 10);
  let tenths: number;
  if (mode < 2) tenths = required * 10;
  else if (mode < 6) tenths = required * 10 + (rng.nextU32() % 2 === 0 ? 1 : -1) * (1 + randomInt(rng, 100));
  else tenths = (required - Math.floor(required / 2)) * 10 + randomInt(rng, required * 10 + 1);
  const actual = Math.max(0, tenths) / 10;
  const comparison = check.rule.startsWith('min_') ? '>=' : '<=';
  const passes = comparison === '>=' ? actual >= required : actual <= required;
  const element: Record<string, unknown> = { type: check.element };
  if (randomInt(rng, 10) < 7) element.storey = randomInt(rng, 13);
  if (randomInt(rng, 2) === 0) element.fire_rated = randomInt(rng, 2) === 0;
  return {
    input: {
      element_features: element,
      rule_context: { rule_id: RULE_IDS[k], severity: SEVERITIES[randomInt(rng, SEVERITIES.length)] },
      compliance_check: { actual_value: actual, required_value: required, comparison },
    },
    label: { status: passes ? 'PASS' : 'FAIL', violated_rule: passes ? 'none' : RULE_IDS[k] },
  };
}
