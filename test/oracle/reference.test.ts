/**
 * The float64 oracle against the official PyTorch model's golden outputs. One-step parity at
 * every ACT step (the recursion is chaotic under random weights, so each step starts from the
 * golden carry that enters it), plus whole runs from the initial carry over two steps.
 */
import { describe, expect, it } from 'vitest';
import { readModelDirectory } from '../../lib/model/directory';
import { GOLDEN_NAMES, loadGolden, maxAbsError, relativeError, type GoldenCase } from '../helpers/golden';
import { referenceInitialCarry, referenceStep, type OracleStepResult } from './reference';

/** Norm-wise relative tolerance for every quantity (golden README: float32 rounding in the golden itself). */
const TOL = { logits: 5e-5, qHalt: 5e-5, qContinue: 5e-5, zH: 5e-5, zL: 5e-5 } as const;
type Quantity = keyof typeof TOL;
const QUANTITIES = Object.keys(TOL) as Quantity[];

/**
 * Whole runs from the initial carry enter their second step with the golden's own float32
 * rounding already in the carry. The attention models barely amplify it, so they stay at TOL.
 * The mlp_t recursion amplifies it about 30x per ACT step: the golden README measures the
 * official code's own float32 and float64 runs 4e-4 apart at the second step, and a
 * float32-emulating variant of this oracle (tried while writing this test) lands 5e-4 from the golden there. No correct
 * implementation, float64 or float32, can be within 5e-5 at that step, so it gets this bound
 * (its one-step parity above stays at TOL).
 */
const MLPT_WHOLE_RUN_SECOND_STEP_TOL = 1e-3;

function expected(g: GoldenCase, s: number): Record<Quantity, Float32Array> {
  return { logits: g.logits[s], qHalt: g.qHalt[s], qContinue: g.qContinue[s], zH: g.zH[s + 1], zL: g.zL[s + 1] };
}

function errors(got: OracleStepResult, want: Record<Quantity, Float32Array>): Record<Quantity, { rel: number; abs: number }> {
  const out = {} as Record<Quantity, { rel: number; abs: number }>;
  for (const q of QUANTITIES) out[q] = { rel: relativeError(got[q], want[q]), abs: maxAbsError(got[q], want[q]) };
  return out;
}

function printTable(title: string, rows: Array<{ step: number; err: Record<Quantity, { rel: number; abs: number }> }>): void {
  const fmt = (x: number): string => x.toExponential(1).padStart(8);
  const header = `step | ${QUANTITIES.map((q) => `${q} rel`.padStart(13)).join(' ')} | max abs (all)`;
  const lines = rows.map(({ step, err }) =>
    `${String(step).padStart(4)} | ${QUANTITIES.map((q) => fmt(err[q].rel).padStart(13)).join(' ')} | ${fmt(Math.max(...QUANTITIES.map((q) => err[q].abs)))}`);
  const worst = QUANTITIES.map((q) => fmt(Math.max(...rows.map((r) => r.err[q].rel))).padStart(13)).join(' ');
  console.log([`${title} (tolerance ${TOL.logits.toExponential(0)} relative)`, header, ...lines, `max  | ${worst} |`].join('\n'));
}

function expectWithin(err: Record<Quantity, { rel: number; abs: number }>, where: string, tol: Record<Quantity, number> = TOL): void {
  for (const q of QUANTITIES) {
    expect(err[q].rel, `${where}: ${q} relative error`).toBeLessThan(tol[q]);
  }
}

describe.each(GOLDEN_NAMES)('float64 oracle vs official golden: %s', (name) => {
  const g = loadGolden(name);
  const { config, weights } = readModelDirectory(g.dir);
  const batchOf = (zH: ArrayLike<number>, zL: ArrayLike<number>) => ({
    inputs: g.inputs,
    puzzleIdentifiers: g.puzzleIdentifiers,
    zH: Float64Array.from(zH),
    zL: Float64Array.from(zL),
  });

  it('the initial carry is H_init / L_init broadcast, as golden step 0 enters', () => {
    const init = referenceInitialCarry(config, weights, g.batch);
    // Exact: both are the stored init vectors, copied.
    expect(maxAbsError(init.zH, g.zH[0])).toBe(0);
    expect(maxAbsError(init.zL, g.zL[0])).toBe(0);
  });

  it(`one step from the golden carry matches at every ACT step`, async () => {
    const rows: Array<{ step: number; err: Record<Quantity, { rel: number; abs: number }> }> = [];
    for (let s = 0; s < g.steps; s++) {
      // The float64 oracle is slow on the Sudoku shape: yield between steps so the vitest
      // worker can answer its runner (a worker blocked for 60 s ends the run in an RPC timeout).
      await new Promise((resolve) => setImmediate(resolve));
      const got = referenceStep(config, weights, batchOf(g.zH[s], g.zL[s]));
      rows.push({ step: s, err: errors(got, expected(g, s)) });
    }
    printTable(`${name}: one-step parity`, rows);
    for (const { step, err } of rows) expectWithin(err, `${name} step ${step}`);
  });

  it('a whole run from the initial carry matches over the first two steps', () => {
    const rows: Array<{ step: number; err: Record<Quantity, { rel: number; abs: number }> }> = [];
    let carry = referenceInitialCarry(config, weights, g.batch);
    for (let s = 0; s < Math.min(2, g.steps); s++) {
      const got = referenceStep(config, weights, batchOf(carry.zH, carry.zL));
      rows.push({ step: s, err: errors(got, expected(g, s)) });
      carry = got;
    }
    printTable(`${name}: whole run from the initial carry`, rows);
    for (const { step, err } of rows) {
      const loose = config.mlp_t && step === 1;
      if (loose) console.log(`${name}: run step 1 checked at ${MLPT_WHOLE_RUN_SECOND_STEP_TOL} (mlp_t amplifies the golden's float32 rounding)`);
      const tol = loose
        ? Object.fromEntries(QUANTITIES.map((q) => [q, MLPT_WHOLE_RUN_SECOND_STEP_TOL])) as Record<Quantity, number>
        : TOL;
      expectWithin(err, `${name} run step ${step}`, tol);
    }
  });
});
