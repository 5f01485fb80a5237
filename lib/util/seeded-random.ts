/**
 * A seeded PRNG that gives the same numbers on every platform: xoshiro128** seeded through
 * splitmix32 from a seed and a label (so each use draws its own stream), with the uniform,
 * normal and truncated-normal draws the initialisers, task generators and trainer take.
 * The state is integer arithmetic; Math.log/cos/sqrt are V8's fdlibm ports, identical
 * across platforms.
 */
import { OptionError } from '../errors';

/** splitmix32: spreads a 32-bit seed over the xoshiro state (which must not be all zero). */
function splitmix32(state: number): () => number {
  let a = state | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** FNV-1a over UTF-16 code units, with a chosen offset basis so two calls give two hashes. */
function fnv1a(text: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * xoshiro128** (Blackman and Vigna): 128-bit state, 32-bit outputs, fast in JS because it
 * needs only 32-bit integer operations.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box-Muller makes normals in pairs; the second waits here. */
  private spare: number | null = null;

  /**
   * One independent stream per (seed, stream name). Keying each tensor by its name keeps its
   * values the same when the config adds or drops other tensors.
   */
  constructor(seed: number, stream = '') {
    if (!Number.isSafeInteger(seed)) throw new OptionError('seed must be an integer', { field: 'seed', value: seed, expected: 'a safe integer' });
    const key = `${seed}\u0000${stream}`;
    const a = splitmix32(fnv1a(key, 0x811c9dc5));
    const b = splitmix32(fnv1a(key, 0x050c5d1f));
    this.s0 = a(); this.s1 = a(); this.s2 = b(); this.s3 = b();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits, so log(1 - u) below never sees 0. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal by Box-Muller. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * The official `trunc_normal_init_` distribution: a standard normal truncated to [-2, 2],
   * scaled by the compensated std so that the result's std is exactly `std`. The official
   * code draws it by inverse CDF (erfinv of a uniform); we draw it by rejection, which gives
   * exactly the same distribution and needs no erfinv (about 4.6% of draws are rejected).
   */
  truncNormal(std: number): number {
    if (std === 0) return 0;
    let z: number;
    do {
      z = this.normal();
    } while (z < TRUNC_LOWER || z > TRUNC_UPPER);
    return z * TRUNC_STD_FACTOR * std;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const TRUNC_LOWER = -2;
const TRUNC_UPPER = 2;
/** P(-2 <= Z <= 2) for a standard normal, = erf(sqrt 2) (the official `z`). */
const TRUNC_MASS = 0.9544997361036416;
/**
 * 1 / std of the standard normal truncated to [-2, 2] (the official `comp_std / std`),
 * about 1.13685: Var = 1 - (u*pdf(u) - l*pdf(l)) / Z - ((pdf(u) - pdf(l)) / Z)^2.
 */
export const TRUNC_STD_FACTOR = (() => {
  const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  const variance = 1 - (TRUNC_UPPER * pdf(TRUNC_UPPER) - TRUNC_LOWER * pdf(TRUNC_LOWER)) / TRUNC_MASS
    - ((pdf(TRUNC_UPPER) - pdf(TRUNC_LOWER)) / TRUNC_MASS) ** 2;
  return 1 / Math.sqrt(variance);
})();

/** The largest magnitude a truncated-normal init of this std can take (the official clip). */
export function truncNormalBound(std: number): number {
  return TRUNC_UPPER * TRUNC_STD_FACTOR * std;
}
