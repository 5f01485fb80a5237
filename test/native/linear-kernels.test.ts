/**
 * The Linear GEMMs of native/cpu/kernel_list.inc by name, whichever kernel a table picks on
 * this CPU (the int8 ones are in int8-kernels.test.ts):
 *   fp32   every SIMD kernel against float64 within GEMM_BOUND at every tile edge, and the
 *          tile shapes of one ISA (avx512 8x32 and 12x32) bit for bit alike, since they sum
 *          every output in the same k order;
 *   bf16   every kernel (the scalar reference included) against a float64 product of the
 *          bf16-rounded operands (rounded here in JS, round to nearest even):
 *          ||d|| <= 1e-6 || |c0| + |a_r||w_r|^T ||, the fp32-accumulation bound, since bf16 x
 *          bf16 products are exact in fp32; so the kernels' rounding of a and w is checked
 *          too (ties and subnormals included), not only their sums.
 * Kernels this CPU cannot run (AMX, vdpbf16ps where absent) are listed as skipped.
 */
import { describe, expect, it } from 'vitest';
import { GEMM_BOUND, GEMM_K, bf16Round, guarded, loadProbe, randomArray, rng, tileEdges } from '../helpers/kernels';

const probe = loadProbe();
const TILES = tileEdges(probe.linearKernels().filter((k) => k.dtype !== 'int8'));
const GEMM_M = TILES.m;
const GEMM_N = TILES.n;

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
