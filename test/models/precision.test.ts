/**
 * bf16 and int8 against fp32 on the shipped models' held-out sets (the sets `trm eval`
 * scores; test/helpers/precision.ts): exact accuracy under fixed steps and adaptive halting,
 * prediction agreement with fp32, logit error per ACT step, the halting-step distribution.
 *
 * The reference is the native backend in fp32. bf16 runs on the native backend; int8 on the
 * onnx backend (the int8 graph) and natively, with native-int8 vs onnx-int8 agreement
 * reported.
 *
 * The issue's targets are the assertions: exact accuracy within 1 point of fp32 (fixed and
 * adaptive) and 99%+ token agreement on the sudoku and maze models. `npm test` runs them on
 * 64 puzzles of sudoku-4x4 (one example is 1.6 points there, so the accuracy bound is one
 * example); `npm run test:slow` (TRM_SLOW=1) on every model's 1000 held-out examples, the
 * count of the model cards. The tables are printed for the README.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, createOnnxModel } from '../../lib';
import { readModelDirectory } from '../../lib/model/directory';
import type { Example } from '../../lib/tasks/task';
import type { TrmModel } from '../../lib/trm-model';
import { REPO_ROOT } from '../helpers/paths';
import {
  TABLE_HEADER, comparePrecision, detailLine, heldOutExamples, runPrecision, tableRow, type PrecisionRun,
} from '../helpers/precision';

const slow = process.env.TRM_SLOW !== undefined && process.env.TRM_SLOW !== '' && process.env.TRM_SLOW !== '0';
/** The issue's targets. */
const ACCURACY_POINTS = 0.01;
const AGREEMENT = 0.99;
/** Models the agreement target names (sudoku and maze); compliance is held to the accuracy target only. */
const AGREEMENT_MODELS = new Set(['sudoku-4x4', 'sudoku-9x9', 'maze']);


const table: string[] = [];
const details: string[] = [];
afterAll(() => {
  if (table.length > 0) {
    console.log([`precision vs native fp32 on held-out sets (${os.cpus()[0]?.model ?? 'unknown CPU'}; agreement over labelled positions, fixed steps)`,
      ...TABLE_HEADER, ...table, '', ...details].join('\n'));
  }
});

interface Variant { label: string; make: () => Promise<TrmModel> | TrmModel; skip?: boolean }

function suite(name: string, count: number, accuracyBound: number) {
  const dir = path.join(REPO_ROOT, 'models', name);
  const { config, weights } = readModelDirectory(dir);
  let examples: Example[] | undefined;
  const heldOut = () => (examples ??= heldOutExamples(dir, config, count));
  // Each run is made once, by whichever test needs it first, so any test also runs alone.
  const runs = new Map<string, Promise<PrecisionRun>>();
  const runOf = (label: string, make: () => Promise<TrmModel> | TrmModel): Promise<PrecisionRun> => {
    let r = runs.get(label);
    if (r === undefined) {
      r = (async () => {
        const model = await make();
        try {
          return await runPrecision(model, heldOut());
        } finally {
          model.dispose();
        }
      })();
      runs.set(label, r);
    }
    return r;
  };
  const fp32 = () => runOf('fp32 (native)', () => createModel(config, weights, { threads: 1 }));
  const variants: Variant[] = [
    { label: 'bf16 (native)', make: () => createModel(config, weights, { threads: 1, precision: 'bf16' }) },
    { label: 'int8 (onnx)', make: () => createOnnxModel(config, weights, { threads: 1, precision: 'int8' }) },
    { label: 'int8 (native)', make: () => createModel(config, weights, { threads: 1, precision: 'int8' }) },
  ];
  const variant = (label: string) => variants.find((v) => v.label === label)!;

  it(`${name}: fp32 (native), the reference, on ${count} held-out examples`, async () => {
    const r = await fp32();
    table.push(tableRow(name, 'fp32 (native)', r, null));
    details.push(detailLine(name, 'fp32 (native)', r, null));
    console.log(table[table.length - 1]);
  }, 600_000);

  for (const v of variants) {
    it.skipIf(v.skip)(`${name}: ${v.label} within ${100 * ACCURACY_POINTS} point of fp32${AGREEMENT_MODELS.has(name) ? `, ${100 * AGREEMENT}%+ agreement` : ''}`, async () => {
      const reference = await fp32();
      const r = await runOf(v.label, v.make);
      const c = comparePrecision(reference, r, heldOut());
      table.push(tableRow(name, v.label, r, c));
      details.push(detailLine(name, v.label, r, c));
      console.log(`${table[table.length - 1]}\n${details[details.length - 1]}`);
      expect(Math.abs(r.fixedExact - reference.fixedExact), 'exact accuracy, fixed steps').toBeLessThanOrEqual(accuracyBound);
      expect(Math.abs(r.adaptiveExact - reference.adaptiveExact), 'exact accuracy, adaptive').toBeLessThanOrEqual(accuracyBound);
      if (AGREEMENT_MODELS.has(name)) expect(c.tokenAgreement, 'token agreement with fp32').toBeGreaterThanOrEqual(AGREEMENT);
      // A run that silently fell back to fp32 would agree to the last bit.
      expect(Math.max(...c.logitErrorPerStep)).toBeGreaterThan(1e-5);
    }, 1_200_000);
  }

  it(`${name}: native int8 vs onnx int8 agreement (predictions and logits)`, async () => {
    const onnx = await runOf('int8 (onnx)', variant('int8 (onnx)').make);
    const native = await runOf('int8 (native)', variant('int8 (native)').make);
    const c = comparePrecision(onnx, native, heldOut());
    details.push(`${name} native int8 vs onnx int8: token agreement ${(100 * c.tokenAgreement).toFixed(2)}%, answers ${(100 * c.answerAgreement).toFixed(2)}%, ` +
      `same halting step ${(100 * c.sameHaltingStep).toFixed(1)}%, logit error per step [${c.logitErrorPerStep.map((e) => e.toExponential(1)).join(' ')}]`);
    console.log(details[details.length - 1]);
    // The same arithmetic: only activations within float32 rounding of a rounding step quantize apart.
    expect(c.tokenAgreement).toBeGreaterThanOrEqual(AGREEMENT);
  }, 1_200_000);
}

describe.skipIf(slow)('precision vs fp32, sudoku-4x4, 64 held-out puzzles', () => {
  // One example of 64: the 1-point target cannot be resolved on a set this small.
  suite('sudoku-4x4', 64, 1 / 64 + 1e-9);
});

describe.skipIf(!slow)('precision vs fp32 on every shipped model, 1000 held-out examples (slow)', () => {
  for (const name of ['sudoku-4x4', 'maze', 'sudoku-9x9', 'compliance']) {
    describe(name, () => suite(name, 1000, ACCURACY_POINTS + 1e-9));
  }
});
