/**
 * The int8 GEMMs of native/cpu/kernel_list.inc against a JS reference of the scheme
 * (native/cpu/int8.h), bit for bit: every step of the scheme is exact (int32 sums) or a
 * single float32 rounding done in the same order (Math.fround here), so each kernel must
 * give exactly the reference's bits, at every tile edge (m around each kernel's mr; n around
 * nr and the vector width; k around the k groups of 2 and 4 and the AMX k block of 64),
 * overwriting and accumulating, with sentinels around c for stray writes. Kernels this CPU
 * cannot run (AVX-VNNI, AMX-INT8 where absent) are listed as skipped.
 *
 * Also: the u8 x s8 worst case (q = +-127 everywhere, k large enough that a saturating or
 * wrapping kernel would show), and the weight quantizer's round-trip bound |W - q s| <= s/2.
 */
import { describe, expect, it } from 'vitest';
import { guarded, loadProbe, randomArray, rng, tileEdges } from '../helpers/kernels';

const probe = loadProbe();
const INT8_KERNELS = probe.linearKernels().filter((k) => k.dtype === 'int8');
const RUNNING = [...new Set(INT8_KERNELS.filter((k) => k.runs).map((k) => k.name))];
const ABSENT = [...new Set(INT8_KERNELS.filter((k) => !k.runs).map((k) => k.name))].filter((n) => !RUNNING.includes(n));
const TILES = tileEdges(INT8_KERNELS);
const K_EDGES = [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65, 130];
const FLT_MAX = 3.4028234663852886e38;

/** Round half to even, as vcvtps2dq and nearbyintf do in the default rounding mode. */
function rne(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

const clamp127 = (v: number) => Math.max(-127, Math.min(127, v));

/** The activation side: q and s_x of one row. */
function quantizeRow(x: Float32Array): { q: Int32Array; s: number } {
  let max = 0;
  for (const v of x) max = Math.max(max, Math.abs(v));
  const inv = max > 0 ? Math.min(Math.fround(127 / max), FLT_MAX) : 0;
  return { q: Int32Array.from(x, (v) => clamp127(rne(Math.fround(v * inv)))), s: Math.fround(max / 127) };
}

/** The weight side: q row-major and s_w per output row (1 for an all-zero row). */
function quantizeWeight(w: Float32Array, n: number, k: number): { q: Int32Array; s: Float32Array } {
  const q = new Int32Array(n * k);
  const s = new Float32Array(n);
  for (let o = 0; o < n; o++) {
    const row = w.subarray(o * k, (o + 1) * k);
    let max = 0;
    for (const v of row) max = Math.max(max, Math.abs(v));
    if (max === 0) {
      s[o] = 1;
      continue;
    }
    s[o] = max / 127;
    const inv = Math.min(Math.fround(127 / max), FLT_MAX);
    for (let i = 0; i < k; i++) q[o * k + i] = clamp127(rne(Math.fround(row[i] * inv)));
  }
  return { q, s };
}

function referenceGemm(m: number, n: number, k: number, a: Float32Array, w: Float32Array, c0: Float32Array, accumulate: boolean): Float32Array {
  const qw = quantizeWeight(w, n, k);
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const x = quantizeRow(a.subarray(i * k, (i + 1) * k));
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let kk = 0; kk < k; kk++) acc += x.q[kk] * qw.q[j * k + kk];
      const y = Math.fround(Math.fround(acc) * Math.fround(x.s * qw.s[j]));
      out[i * n + j] = accumulate ? Math.fround(c0[i * n + j] + y) : y;
    }
  }
  return out;
}

function firstDifference(got: Float32Array, ref: Float32Array): number {
  for (let i = 0; i < ref.length; i++) if (!Object.is(got[i], ref[i])) return i;
  return -1;
}

describe.each(ABSENT.length > 0 ? ABSENT : ['(none)'])('int8 kernel %s', (name) => {
  it.skip(name === '(none)' ? 'every int8 kernel runs here' : `${name} does not run on this CPU: not verified here`, () => {});
});

describe.each(RUNNING)('%s against the int8 reference, bit for bit', (kernel) => {
  it('at every tile edge, overwrite and accumulate, nothing written outside c', () => {
    const next = rng(11);
    let cases = 0;
    for (const m of TILES.m) {
      for (const n of TILES.n) {
        for (const k of K_EDGES) {
          const a = randomArray(m * k, next);
          const w = randomArray(n * k, next, 0.5);
          const c0 = randomArray(m * n, next);
          for (const accumulate of [false, true]) {
            const ref = referenceGemm(m, n, k, a, w, c0, accumulate);
            const c = guarded(c0);
            probe.gemmLinear(kernel, m, n, k, a, w, c.view, accumulate);
            const label = `${kernel} m=${m} n=${n} k=${k} accumulate=${accumulate}`;
            expect(c.intact(), `${label} wrote outside c`).toBe(true);
            const at = firstDifference(c.view, ref);
            expect(at, `${label}: first differing element ${at} (${c.view[at]} vs ${ref[at]})`).toBe(-1);
            cases++;
          }
        }
      }
    }
    console.log(`[${kernel}] ${cases} cases bit-identical to the reference (m ${TILES.m.join(',')}; n ${TILES.n.join(',')}; k ${K_EDGES.join(',')})`);
  });

  it('zero rows, zero weight rows and rows of very different scales', () => {
    const m = 9, n = 35, k = 67;
    const next = rng(12);
    const a = randomArray(m * k, next);
    a.fill(0, 2 * k, 3 * k);  // an all-zero activation row: q = 0, y = 0
    for (let i = 0; i < k; i++) a[5 * k + i] *= 1e-30;  // a tiny row still uses its full range
    for (let i = 0; i < k; i++) a[6 * k + i] *= 1e30;
    const w = randomArray(n * k, next);
    w.fill(0, 4 * k, 5 * k);  // an all-zero weight row: s_w = 1, q = 0
    const c0 = randomArray(m * n, next);
    for (const accumulate of [false, true]) {
      const ref = referenceGemm(m, n, k, a, w, c0, accumulate);
      const c = Float32Array.from(c0);
      probe.gemmLinear(kernel, m, n, k, a, w, c, accumulate);
      expect(firstDifference(c, ref)).toBe(-1);
    }
  });

  it('across row blocks (the kernels quantize and multiply ~96 KB of rows at a time)', () => {
    const next = rng(14);
    const m = 301, n = 40, k = 1030;
    const a = randomArray(m * k, next);
    const w = randomArray(n * k, next);
    const c = new Float32Array(m * n);
    probe.gemmLinear(kernel, m, n, k, a, w, c, false);
    expect(firstDifference(c, referenceGemm(m, n, k, a, w, c, false))).toBe(-1);
  });

  it('the u8 x s8 worst case: q = +-127 everywhere, exact', () => {
    // |x| and |w| all equal their row's max, so every q is +-127; with k = 4099 a lane sums
    // up to 255 * 127 * 4099 (vpdpbusd's shifted operand) and the result 127^2 * 4099 needs
    // 27 bits: any int16 saturation (vpmaddubsw) or int32 wrap would show.
    const m = 7, n = 33, k = 4099;
    for (const [signA, signW] of [[1, 1], [-1, 1], [1, -1], [-1, -1], [0, 0]] as const) {
      const a = Float32Array.from({ length: m * k }, (_, i) => (signA === 0 ? (i % 3 === 0 ? -1 : 1) : signA) * 0.75);
      const w = Float32Array.from({ length: n * k }, (_, i) => (signW === 0 ? (i % 5 === 1 ? -1 : 1) : signW) * 2);
      const c = new Float32Array(m * n);
      probe.gemmLinear(kernel, m, n, k, a, w, c, false);
      const ref = referenceGemm(m, n, k, a, w, c, false);
      expect(firstDifference(c, ref), `signs ${signA}, ${signW}`).toBe(-1);
      if (signA !== 0) {
        // All products equal: acc = +-127^2 k exactly, dequantized by (0.75/127) (2/127).
        const expected = Math.fround(Math.fround(signA * signW * 127 * 127 * k) * Math.fround(Math.fround(0.75 / 127) * Math.fround(2 / 127)));
        expect(c[0]).toBe(expected);
        expect(Math.abs(c[0] - signA * signW * 1.5 * k) / (1.5 * k)).toBeLessThan(1e-6);
      }
    }
  });
});

describe('the int8 weight quantizer', () => {
  it('matches the reference bit for bit and round-trips within half a step: |W - q s| <= s/2', () => {
    const next = rng(13);
    const n = 37, k = 129;
    const w = randomArray(n * k, next, 3);
    w.fill(0, 5 * k, 6 * k);
    const q = new Int8Array(n * k);
    const scales = new Float32Array(n);
    probe.quantizeInt8(w, n, k, q, scales);
    const ref = quantizeWeight(w, n, k);
    let worst = 0;
    for (let o = 0; o < n; o++) {
      expect(scales[o]).toBe(ref.s[o]);
      for (let i = 0; i < k; i++) {
        expect(q[o * k + i]).toBe(ref.q[o * k + i]);
        const err = Math.abs(w[o * k + i] - q[o * k + i] * scales[o]);
        // Half a step, and the fp32 rounding of 127 / max (a relative 2^-24 of the value).
        expect(err).toBeLessThanOrEqual(scales[o] / 2 * (1 + 1e-6) + Math.abs(w[o * k + i]) * 2 ** -23);
        worst = Math.max(worst, err / scales[o]);
      }
    }
    expect(scales[5]).toBe(1);
    console.log(`int8 weight round trip: worst |W - q s| = ${worst.toFixed(4)} s (bound 0.5 s)`);
  });
});
