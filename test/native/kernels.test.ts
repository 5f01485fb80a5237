/**
 * Every SIMD kernel table against the scalar reference, through the addon's test-only
 * `kernelProbe`, at the tile edges of each table: sizes equal to, one below, one above and
 * multiples of the vector width (8 for avx2, 16 for avx512), the panel width nr (16, 32) and
 * the register-tile height MR (6, 8). Outputs are views into larger buffers with sentinels
 * on both sides, so a store past the end of a row (the masked n tail) is caught too.
 *
 * Tolerances, per quantity (u = 2^-24, the float32 unit roundoff):
 *   gemm   ||c_isa - c_scalar|| <= 1e-6 * || |c0| + |a||w|^T || for every case, and also
 *          <= 1e-6 * ||c_scalar|| where c has at least 64 elements (a single output element
 *          can cancel to near zero, and then no relative bound on it means anything). Both
 *          tables sum the k products in float32 in k order, the SIMD ones with FMA (one
 *          rounding per step instead of two), so the difference grows like sqrt(k) * u.
 *   dot    |d_isa - d_scalar| / sum|a_i b_i| <= 1e-6 (condition-free: the result may cancel).
 *   add    bit-exact (one float add either way).
 *   axpy   |d| <= 2^-22 * (|alpha x| + |y|): FMA rounds once where scalar rounds twice.
 *   rmsnormRows  per element |d| <= 1e-6 * |ref| (both sum squares in double; measured 0 ulp).
 *   siluMul      per element |d| <= 1e-6 * |ref| + 1e-37 (vector expf is within 1 ulp;
 *                the formula g / (1 + exp(-g)) * u adds ~3 ulp on either side).
 *   softmaxRows  per element |d| <= 2e-6 * |ref| + 1e-30: expf within 1 ulp, and the row sum
 *                is added in a different order (a few ulp on 1/sum).
 *   gemmBf16     each table's bf16 Linear kernel across row blocks against a float64 product
 *                of the bf16-rounded operands, the same fp32-accumulation bound as gemm;
 *                every bf16 kernel by name at every tile edge: linear-kernels.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { GEMM_BOUND, GEMM_K, bf16Round, guarded, loadProbe, randomArray, rng, tileEdges } from '../helpers/kernels';

const probe = loadProbe();
const SIMD_ISAS = probe.isas().filter((isa) => isa !== 'scalar');

function relNormError(got: Float32Array, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    const d = got[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

// Sizes at the tile edges of every f32/bf16 GEMM in native/cpu/kernel_list.inc (mr, nr and
// the vector width, from the list itself): one below, at, one above and twice each, plus a
// size that spans several tiles with a remainder.
const TILES = tileEdges(probe.linearKernels().filter((k) => k.dtype !== 'int8'));
const GEMM_M = TILES.m;
const GEMM_N = TILES.n;
const LENGTHS = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100];

describe('kernelProbe', () => {
  it('lists the supported ISAs, scalar last', () => {
    const isas = probe.isas();
    expect(isas[isas.length - 1]).toBe('scalar');
    console.log(`kernel ISAs on this machine: ${isas.join(', ')}`);
  });
});

describe.each(SIMD_ISAS.length > 0 ? SIMD_ISAS : ['(none)'])('%s kernels against scalar', (isa) => {
  if (isa === '(none)') {
    it.skip('no SIMD table runs on this CPU', () => {});
    return;
  }

  it('gemm at every tile edge, overwrite and accumulate', () => {
    const next = rng(1);
    const worst = { mag: 0, rel: 0, f64Isa: 0, f64Scalar: 0 };
    let worstAt = '';
    for (const m of GEMM_M) {
      for (const n of GEMM_N) {
        for (const k of GEMM_K) {
          const a = randomArray(m * k, next);
          const w = randomArray(n * k, next);
          const c0 = randomArray(m * n, next);
          for (const accumulate of [false, true]) {
            const label = `gemm m=${m} n=${n} k=${k} accumulate=${accumulate}`;
            const ref = Float32Array.from(c0);
            probe.gemm('scalar', m, n, k, a, w, ref, accumulate);
            const c = guarded(c0);
            probe.gemm(isa, m, n, k, a, w, c.view, accumulate);
            expect(c.intact(), `${label} wrote outside c`).toBe(true);

            // The float64 product, and the norm of |c0| + |a||w|^T that no cancellation shrinks.
            const exact = new Float64Array(m * n);
            let magnitude = 0;
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = accumulate ? c0[i * n + j] : 0;
                let mag = Math.abs(s);
                for (let kk = 0; kk < k; kk++) {
                  const p = a[i * k + kk] * w[j * k + kk];
                  s += p;
                  mag += Math.abs(p);
                }
                exact[i * n + j] = s;
                magnitude += mag * mag;
              }
            }
            magnitude = Math.sqrt(magnitude);
            const diffNorm = (x: ArrayLike<number>, y: ArrayLike<number>) => {
              let sum = 0;
              for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
              return Math.sqrt(sum);
            };

            const mag = diffNorm(c.view, ref) / magnitude;
            expect(mag, label).toBeLessThanOrEqual(GEMM_BOUND);
            if (mag > worst.mag) {
              worst.mag = mag;
              worstAt = label;
            }
            if (m * n >= 64) {
              const rel = relNormError(c.view, ref);
              expect(rel, label).toBeLessThanOrEqual(GEMM_BOUND);
              worst.rel = Math.max(worst.rel, rel);
            }
            worst.f64Isa = Math.max(worst.f64Isa, diffNorm(c.view, exact) / magnitude);
            worst.f64Scalar = Math.max(worst.f64Scalar, diffNorm(ref, exact) / magnitude);
          }
        }
      }
    }
    console.log(
      `[${isa}] gemm vs scalar: max ||d|| / || |c0| + |a||w|^T || ${worst.mag.toExponential(2)} (${worstAt}); ` +
        `max ||d|| / ||c_scalar|| (m*n >= 64) ${worst.rel.toExponential(2)}; bound ${GEMM_BOUND}. ` +
        `Against float64: ${isa} ${worst.f64Isa.toExponential(2)}, scalar ${worst.f64Scalar.toExponential(2)}`,
    );
  });

  it('add, dot, axpy at lengths around the vector width', () => {
    const next = rng(2);
    let addMax = 0;
    let dotMax = 0;
    let axpyMax = 0;
    for (const n of LENGTHS) {
      const x = randomArray(n, next);
      const y = randomArray(n, next);

      const addRef = Float32Array.from(x);
      probe.add('scalar', addRef, y);
      const xa = guarded(x);
      probe.add(isa, xa.view, y);
      expect(xa.intact(), `add n=${n} wrote outside x`).toBe(true);
      for (let i = 0; i < n; i++) addMax = Math.max(addMax, Math.abs(xa.view[i] - addRef[i]));
      expect(Array.from(xa.view), `add n=${n}`).toEqual(Array.from(addRef));

      const d = probe.dot(isa, x, y);
      const dRef = probe.dot('scalar', x, y);
      let absSum = 0;
      for (let i = 0; i < n; i++) absSum += Math.abs(x[i] * y[i]);
      const dotErr = Math.abs(d - dRef) / absSum;
      dotMax = Math.max(dotMax, dotErr);
      expect(dotErr, `dot n=${n}`).toBeLessThanOrEqual(1e-6);

      const alpha = 0.37;
      const axpyRef = Float32Array.from(y);
      probe.axpy('scalar', alpha, x, axpyRef);
      const ya = guarded(y);
      probe.axpy(isa, alpha, x, ya.view);
      expect(ya.intact(), `axpy n=${n} wrote outside y`).toBe(true);
      for (let i = 0; i < n; i++) {
        const scale = Math.abs(Math.fround(alpha) * x[i]) + Math.abs(y[i]);
        const err = Math.abs(ya.view[i] - axpyRef[i]) / scale;
        axpyMax = Math.max(axpyMax, err);
        expect(err, `axpy n=${n} i=${i}`).toBeLessThanOrEqual(2 ** -22);
      }
    }
    console.log(
      `[${isa}] add: max |d| ${addMax}; dot: max |d|/sum|ab| ${dotMax.toExponential(2)}; ` +
        `axpy: max |d|/(|ax|+|y|) ${axpyMax.toExponential(2)}`,
    );
  });

  it('rmsnormRows at lengths around the vector width', () => {
    const next = rng(3);
    let maxRel = 0;
    for (const cols of LENGTHS) {
      for (const rows of [1, 3]) {
        const x = randomArray(rows * cols, next, 3);
        const ref = Float32Array.from(x);
        probe.rmsnormRows('scalar', ref, rows, cols, 1e-6);
        const g = guarded(x);
        probe.rmsnormRows(isa, g.view, rows, cols, 1e-6);
        expect(g.intact(), `rmsnormRows cols=${cols} wrote outside x`).toBe(true);
        for (let i = 0; i < x.length; i++) {
          const rel = Math.abs(g.view[i] - ref[i]) / Math.abs(ref[i] || 1);
          maxRel = Math.max(maxRel, rel);
          expect(rel, `rmsnormRows rows=${rows} cols=${cols} i=${i}`).toBeLessThanOrEqual(1e-6);
        }
      }
    }
    console.log(`[${isa}] rmsnormRows: max relative error ${maxRel.toExponential(2)}`);
  });

  function checkSilu(gateUp: Float32Array, rows: number, inter: number, label: string): number {
    const ref = new Float32Array(rows * inter);
    probe.siluMul('scalar', gateUp, rows, inter, ref);
    const out = guarded(new Float32Array(rows * inter));
    probe.siluMul(isa, gateUp, rows, inter, out.view);
    expect(out.intact(), `siluMul ${label} wrote outside out`).toBe(true);
    let maxRel = 0;
    for (let i = 0; i < ref.length; i++) {
      expect(Number.isNaN(out.view[i]), `siluMul ${label} i=${i} is NaN`).toBe(false);
      const d = Math.abs(out.view[i] - ref[i]);
      if (ref[i] !== 0) maxRel = Math.max(maxRel, d / Math.abs(ref[i]));
      expect(d, `siluMul ${label} i=${i}: ${out.view[i]} vs scalar ${ref[i]}`).toBeLessThanOrEqual(
        1e-6 * Math.abs(ref[i]) + 1e-37,
      );
    }
    return maxRel;
  }

  it('siluMul at lengths around the vector width', () => {
    const next = rng(4);
    let maxRel = 0;
    for (const inter of LENGTHS) {
      const rows = 2;
      const gateUp = new Float32Array(rows * 2 * inter);
      for (let r = 0; r < rows; r++) {
        gateUp.set(randomArray(inter, next, 12), r * 2 * inter); // gate: across silu's curve
        gateUp.set(randomArray(inter, next, 1), r * 2 * inter + inter); // up
      }
      maxRel = Math.max(maxRel, checkSilu(gateUp, rows, inter, `inter=${inter}`));
    }
    console.log(`[${isa}] siluMul: max relative error vs scalar ${maxRel.toExponential(2)}`);
  });

  it('silu at extreme inputs: no NaN, -0 far left, identity far right', () => {
    const gates = [-1e30, -100, -89, -88.5, -88, -87, -20, -1, -1e-30, -0, 0, 1e-40, 1e-30, 1, 20, 87, 88, 89, 100, 1e30];
    const inter = gates.length;
    const gateUp = new Float32Array(2 * inter);
    gateUp.set(gates, 0);
    gateUp.fill(1, inter);
    const maxRel = checkSilu(gateUp, 1, inter, 'extremes');

    const out = new Float32Array(inter);
    probe.siluMul(isa, gateUp, 1, inter, out);
    const at = (g: number) => out[gates.findIndex((v) => Object.is(v, g))];
    expect(Object.is(at(-100), -0)).toBe(true);
    expect(Object.is(at(-1e30), -0)).toBe(true);
    expect(at(100)).toBe(100);
    expect(at(1e30)).toBe(Math.fround(1e30));
    expect(at(20)).toBe(Math.fround(20 / (1 + Math.exp(-20))));
    expect(Object.is(at(0), 0)).toBe(true);
    expect(Object.is(at(-0), -0)).toBe(true);
    // Against float64 where float32 cannot overflow exp(-g) (g > -88.7).
    for (const g of [-88, -20, -1, 1, 20]) {
      const exact = g / (1 + Math.exp(-g));
      expect(Math.abs(at(g) - exact) / Math.abs(exact), `silu(${g})`).toBeLessThanOrEqual(4e-7);
    }
    console.log(`[${isa}] silu extremes: max relative error vs scalar ${maxRel.toExponential(2)}`);
  });
});

/** float -> bf16 -> float, round to nearest even, subnormals to signed zero (as the kernels). */
describe.each(SIMD_ISAS.length > 0 ? SIMD_ISAS : ['(none)'])('%s softmaxRows against scalar', (isa) => {
  it.skipIf(isa === '(none)')('at lengths around the vector width, large and small scores', () => {
    const next = rng(5);
    let maxRel = 0;
    for (const cols of [...LENGTHS, 97, 400]) {
      for (const spread of [0.1, 30]) {
        const rows = 3;
        const x = randomArray(rows * cols, next, spread);
        const ref = Float32Array.from(x);
        probe.softmaxRows('scalar', ref, rows, cols, 0.125);
        const g = guarded(x);
        probe.softmaxRows(isa, g.view, rows, cols, 0.125);
        expect(g.intact(), `softmaxRows cols=${cols} wrote outside x`).toBe(true);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let j = 0; j < cols; j++) sum += g.view[r * cols + j];
          expect(Math.abs(sum - 1), `row ${r} sums to 1`).toBeLessThan(1e-5);
        }
        for (let i = 0; i < x.length; i++) {
          const d = Math.abs(g.view[i] - ref[i]);
          if (ref[i] !== 0) maxRel = Math.max(maxRel, d / ref[i]);
          expect(d, `softmaxRows cols=${cols} spread=${spread} i=${i}`).toBeLessThanOrEqual(2e-6 * Math.abs(ref[i]) + 1e-30);
        }
      }
    }
    console.log(`[${isa}] softmaxRows: max relative error vs scalar ${maxRel.toExponential(2)}`);
  });

  it.skipIf(isa === '(none)')('matches float64 softmax of the scaled row', () => {
    const x = Float32Array.from([3, -1, 0.5, 2, 7, -4, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const got = Float32Array.from(x);
    probe.softmaxRows(isa, got, 1, x.length, 0.5);
    const e = Array.from(x, (v) => Math.exp(0.5 * v - 4.5));
    const s = e.reduce((a, b) => a + b, 0);
    for (let i = 0; i < x.length; i++) expect(Math.abs(got[i] - e[i] / s)).toBeLessThan(1e-6 * (e[i] / s) + 1e-9);
  });
});

// The GEMMs walk `a` in row blocks sized to stay in L2 (~48K floats of a per block, so
// k = 1536 gives 32-row blocks): these sizes cross several block boundaries, with a partial
// last block and a partial last panel.
describe.each(['scalar', ...SIMD_ISAS])('%s GEMMs across row blocks', (isa) => {
  it('gemm and gemmBf16 over many row blocks match float64', () => {
    const next = rng(7);
    for (const [m, n, k] of [[777, 33, 1536], [301, 17, 300]]) {
      const a = randomArray(m * k, next);
      const w = randomArray(n * k, next);
      for (const bf16 of [false, true]) {
        const c = new Float32Array(m * n);
        (bf16 ? probe.gemmBf16 : probe.gemm)(isa, m, n, k, a, w, c, false);
        const ar = bf16 ? a.map(bf16Round) : a;
        const wr = bf16 ? w.map(bf16Round) : w;
        let num = 0;
        let den = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            let mag = 0;
            for (let kk = 0; kk < k; kk++) {
              const p = ar[i * k + kk] * wr[j * k + kk];
              s += p;
              mag += Math.abs(p);
            }
            num += (c[i * n + j] - s) ** 2;
            den += mag * mag;
          }
        }
        expect(Math.sqrt(num / den), `${bf16 ? 'gemmBf16' : 'gemm'} m=${m} n=${n} k=${k}`).toBeLessThanOrEqual(GEMM_BOUND);
      }
    }
  });
});

describe('measurePeak', () => {
  it('measures a positive fp32 rate where a SIMD table runs, and rejects bad arguments', () => {
    const fp32 = probe.measurePeak('fp32', 1, 0.05);
    if (SIMD_ISAS.length > 0) expect(fp32).toBeGreaterThan(1);
    expect(() => probe.measurePeak('fp64' as 'fp32', 1, 0.05)).toThrow(RangeError);
    expect(() => probe.measurePeak('fp32', 0, 0.05)).toThrow(RangeError);
    expect(() => probe.measurePeak('fp32', 1, 0)).toThrow(RangeError);
    expect(() => probe.measurePeak('fp32', 1, 61)).toThrow(RangeError);
  });
});

describe('kernelProbe rejects bad arguments without crashing', () => {
  const f = (n: number) => new Float32Array(n);
  const cases: Array<[string, () => unknown, ErrorConstructor]> = [
    ['unknown isa', () => probe.add('sse9', f(4), f(4)), RangeError],
    ['isa not a string', () => probe.dot(7 as unknown as string, f(4), f(4)), TypeError],
    ['gemm: a too short', () => probe.gemm('scalar', 2, 3, 4, f(7), f(12), f(6), false), RangeError],
    ['gemm: w too long', () => probe.gemm('scalar', 2, 3, 4, f(8), f(13), f(6), false), RangeError],
    ['gemm: c too short', () => probe.gemm('scalar', 2, 3, 4, f(8), f(12), f(5), false), RangeError],
    ['gemm: n = 0', () => probe.gemm('scalar', 2, 0, 4, f(8), f(0), f(0), false), RangeError],
    ['gemm: negative m', () => probe.gemm('scalar', -1, 3, 4, f(0), f(12), f(0), false), RangeError],
    ['gemm: fractional k', () => probe.gemm('scalar', 2, 3, 1.5, f(3), f(4), f(6), false), RangeError],
    ['gemm: NaN m', () => probe.gemm('scalar', NaN, 3, 4, f(0), f(12), f(0), false), RangeError],
    ['gemm: Float64Array', () => probe.gemm('scalar', 2, 3, 4, new Float64Array(8) as unknown as Float32Array, f(12), f(6), false), TypeError],
    ['gemm: accumulate not boolean', () => probe.gemm('scalar', 2, 3, 4, f(8), f(12), f(6), 1 as unknown as boolean), TypeError],
    ['gemm: missing argument', () => (probe.gemm as unknown as (...a: unknown[]) => void)('scalar', 2, 3, 4, f(8), f(12), f(6)), TypeError],
    ['add: length mismatch', () => probe.add('scalar', f(4), f(5)), RangeError],
    ['add: plain array', () => probe.add('scalar', [1, 2] as unknown as Float32Array, f(2)), TypeError],
    ['dot: length mismatch', () => probe.dot('scalar', f(4), f(3)), RangeError],
    ['axpy: alpha not a number', () => probe.axpy('scalar', '2' as unknown as number, f(4), f(4)), TypeError],
    ['axpy: length mismatch', () => probe.axpy('scalar', 2, f(4), f(3)), RangeError],
    ['rmsnormRows: wrong length', () => probe.rmsnormRows('scalar', f(10), 3, 4, 1e-6), RangeError],
    ['rmsnormRows: negative eps', () => probe.rmsnormRows('scalar', f(12), 3, 4, -1), RangeError],
    ['siluMul: gateUp wrong length', () => probe.siluMul('scalar', f(12), 2, 4, f(8)), RangeError],
    ['siluMul: out wrong length', () => probe.siluMul('scalar', f(16), 2, 4, f(7)), RangeError],
    ['softmaxRows: wrong length', () => probe.softmaxRows('scalar', f(10), 3, 4, 1), RangeError],
    ['gemmBf16: unknown variant', () => probe.gemmBf16('bf17', 2, 3, 4, f(8), f(12), f(6), false), RangeError],
    ['gemmBf16: w too short', () => probe.gemmBf16('scalar', 2, 3, 4, f(8), f(11), f(6), false), RangeError],
  ];

  it.each(cases)('%s', (_label, call, type) => {
    expect(call).toThrow(type);
  });

  it('still works after the rejected calls', () => {
    const c = new Float32Array(2);
    probe.gemm('scalar', 1, 2, 2, Float32Array.from([1, 2]), Float32Array.from([3, 4, 5, 6]), c, false);
    expect(Array.from(c)).toEqual([11, 17]);
    expect(probe.dot(probe.isas()[0], Float32Array.from([1, 2, 3]), Float32Array.from([4, 5, 6]))).toBe(32);
  });
});
