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
 *   gemmBf16     every variant (the scalar reference included) against a float64 product of
 *                the bf16-rounded operands (rounded here in JS, round to nearest even):
 *                ||d|| <= 1e-6 * || |c0| + |a_r||w_r|^T ||, the same fp32-accumulation bound
 *                as gemm, since bf16 x bf16 products are exact in fp32; so the kernels'
 *                rounding of a and w is checked too, not only their sums.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KernelProbe } from '../../lib/native/addon';
import { tileEdges } from '../helpers/kernels';

const ADDON_PATH = path.resolve(__dirname, '../../build/Release/trm_node.node');

function loadProbe(): KernelProbe {
  const req = createRequire(__filename);
  try {
    return (req(ADDON_PATH) as { kernelProbe: KernelProbe }).kernelProbe;
  } catch (e) {
    throw new Error(`cannot load ${ADDON_PATH} (build it with \`npm run build:native\`): ${(e as Error).message}`);
  }
}

const probe = loadProbe();
const SIMD_ISAS = probe.isas().filter((isa) => isa !== 'scalar');

// Deterministic data: mulberry32.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArray(n: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * scale;
  return out;
}

// A Float32Array view of `values` with GUARD sentinel floats on each side in the same buffer.
const GUARD = 16;
const SENTINEL = -12345.678;
function guarded(values: Float32Array): { view: Float32Array; intact: () => boolean } {
  const all = new Float32Array(values.length + 2 * GUARD).fill(SENTINEL);
  const view = new Float32Array(all.buffer, GUARD * 4, values.length);
  view.set(values);
  const sentinel = Math.fround(SENTINEL);
  const intact = () => {
    for (let i = 0; i < GUARD; i++) {
      if (all[i] !== sentinel || all[GUARD + values.length + i] !== sentinel) return false;
    }
    return true;
  };
  return { view, intact };
}

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
const GEMM_K = [1, 3, 15, 16, 17, 64, 97, 130];
const LENGTHS = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100];

const GEMM_BOUND = 1e-6;

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
function bf16Round(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0];
  if ((bits & 0x7f800000) === 0) {
    u[0] = bits & 0x80000000;
    return f[0];
  }
  u[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
  return f[0];
}

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

// The fp32 GEMMs of kernel_list.inc by name, whichever its table picks on this CPU: each
// against float64 within GEMM_BOUND at every tile edge, and the tile shapes of one ISA (the
// avx512 8x32 and 12x32) bit for bit alike, since they sum every output in the same k order.
const F32_RUNNING = [...new Set(probe.linearKernels().filter((k) => k.dtype === 'f32' && k.runs && k.table !== 'scalar').map((k) => k.name))];

describe.each(F32_RUNNING.length > 0 ? F32_RUNNING : ['(none)'])('%s (fp32) at every tile edge', (kernel) => {
  if (kernel === '(none)') {
    it.skip('no SIMD fp32 kernel runs on this CPU', () => {});
    return;
  }
  it('matches float64 within the fp32 bound, and its ISA siblings bit for bit', () => {
    const next = rng(21);
    const isaOf = (name: string) => /^gemm_f32_([a-z0-9]+)_/.exec(name)![1];
    const siblings = F32_RUNNING.filter((other) => other !== kernel && isaOf(other) === isaOf(kernel));
    let worst = 0;
    for (const m of GEMM_M) {
      for (const n of GEMM_N) {
        for (const k of [1, 17, 130]) {
          const a = randomArray(m * k, next);
          const w = randomArray(n * k, next);
          const c0 = randomArray(m * n, next);
          const c = guarded(c0);
          probe.gemmLinear(kernel, m, n, k, a, w, c.view, true);
          expect(c.intact(), `${kernel} m=${m} n=${n} k=${k} wrote outside c`).toBe(true);
          let num = 0;
          let den = 0;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = c0[i * n + j];
              let mag = Math.abs(s);
              for (let kk = 0; kk < k; kk++) {
                s += a[i * k + kk] * w[j * k + kk];
                mag += Math.abs(a[i * k + kk] * w[j * k + kk]);
              }
              num += (c.view[i * n + j] - s) ** 2;
              den += mag * mag;
            }
          }
          worst = Math.max(worst, Math.sqrt(num / den));
          for (const other of siblings) {
            const d = Float32Array.from(c0);
            probe.gemmLinear(other, m, n, k, a, w, d, true);
            expect(Array.from(d), `${other} vs ${kernel} m=${m} n=${n} k=${k}`).toEqual(Array.from(c.view));
          }
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(GEMM_BOUND);
    console.log(`[${kernel}] fp32 vs float64: max ${worst.toExponential(2)}; bit-identical to ${siblings.join(', ') || '(no sibling)'}`);
  });
});

// Every bf16 GEMM of native/cpu/kernel_list.inc that runs here, by name (whichever a table
// picks); the ones this CPU cannot run are listed as skipped.
const BF16_KERNELS = probe.linearKernels().filter((k) => k.dtype === 'bf16');
const BF16_RUNNING = [...new Set(BF16_KERNELS.filter((k) => k.runs).map((k) => k.name))];
const BF16_ABSENT = [...new Set(BF16_KERNELS.filter((k) => !k.runs).map((k) => k.name))].filter((n) => !BF16_RUNNING.includes(n));

describe.each(BF16_ABSENT.length > 0 ? BF16_ABSENT : ['(none)'])('gemm %s (bf16)', (name) => {
  it.skip(name === '(none)' ? 'every bf16 kernel runs here' : `${name} does not run on this CPU: not verified here`, () => {});
});

describe.each(BF16_RUNNING)('%s against float64 on bf16-rounded operands', (variant) => {
  it('at every tile edge, overwrite and accumulate', () => {
    const next = rng(6);
    let worst = 0;
    let worstAt = '';
    for (const m of GEMM_M) {
      for (const n of GEMM_N) {
        for (const k of GEMM_K) {
          const a = randomArray(m * k, next);
          const w = randomArray(n * k, next);
          const c0 = randomArray(m * n, next);
          const ar = a.map(bf16Round);
          const wr = w.map(bf16Round);
          for (const accumulate of [false, true]) {
            const label = `gemmBf16 m=${m} n=${n} k=${k} accumulate=${accumulate}`;
            const c = guarded(c0);
            probe.gemmLinear(variant, m, n, k, a, w, c.view, accumulate);
            expect(c.intact(), `${label} wrote outside c`).toBe(true);
            let num = 0;
            let den = 0;
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = accumulate ? c0[i * n + j] : 0;
                let mag = Math.abs(s);
                for (let kk = 0; kk < k; kk++) {
                  const p = ar[i * k + kk] * wr[j * k + kk];
                  s += p;
                  mag += Math.abs(p);
                }
                num += (c.view[i * n + j] - s) ** 2;
                den += mag * mag;
              }
            }
            const err = Math.sqrt(num / den);
            expect(err, label).toBeLessThanOrEqual(GEMM_BOUND);
            if (err > worst) {
              worst = err;
              worstAt = label;
            }
          }
        }
      }
    }
    console.log(`[${variant}] gemmBf16 vs float64 of rounded operands: max ${worst.toExponential(2)} (${worstAt}); bound ${GEMM_BOUND}`);
  });

  it('rounds activations as bf16_from_f32 does: ties to even, subnormals to zero (exact sums)', () => {
    // 2 + 2^-7 lies halfway between bf16 neighbours 2 and 2 + 2^-6 (rounds to 2), 2 + 3 2^-7
    // halfway between 2 + 2^-6 and 2 + 2^-5 (rounds to the even 2 + 2^-5); 1e-39 is subnormal
    // (flushed to 0). After rounding, every product and sum below is exact in fp32.
    const m = 5, n = 19, k = 37;
    const specials = [2 + 2 ** -7, -(2 + 3 * 2 ** -7), 1e-39, -1e-39, 3];
    const a = Float32Array.from({ length: m * k }, (_, i) => specials[(i * 7) % specials.length]);
    const w = Float32Array.from({ length: n * k }, (_, i) => (i % 5) - 2);
    const c = new Float32Array(m * n);
    probe.gemmLinear(variant, m, n, k, a, w, c, false);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let kk = 0; kk < k; kk++) s += bf16Round(a[i * k + kk]) * w[j * k + kk];
        expect(c[i * n + j], `i=${i} j=${j}`).toBe(s);
      }
    }
  });

  it('exact on operands bf16 holds exactly (small integers)', () => {
    const m = 9, n = 33, k = 17;
    const a = Float32Array.from({ length: m * k }, (_, i) => (i % 7) - 3);
    const w = Float32Array.from({ length: n * k }, (_, i) => (i % 5) - 2);
    const c = new Float32Array(m * n);
    probe.gemmLinear(variant, m, n, k, a, w, c, false);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let kk = 0; kk < k; kk++) s += a[i * k + kk] * w[j * k + kk];
        expect(c[i * n + j]).toBe(s);
      }
    }
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
