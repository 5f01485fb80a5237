/**
 * What the kernel tests share: the addon's kernelProbe, deterministic data, guarded output
 * buffers, bf16 rounding in JS, the fp32 GEMM bound, and the tile-edge sizes taken from the
 * GEMM entries of native/cpu/kernel_list.inc.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { KernelProbe, LinearKernelInfo } from '../../lib/native/addon';

const ADDON_PATH = path.resolve(__dirname, '../../build/Release/trm_node.node');

/** ||c - ref|| <= 1e-6 || |c0| + |a||w|^T ||: fp32 accumulation over k (kernels.test.ts). */
export const GEMM_BOUND = 1e-6;
/** k around the vector widths, the bf16 pair, and the AMX bf16 k block of 32. */
export const GEMM_K = [1, 3, 15, 16, 17, 32, 33, 64, 130];

export function loadProbe(): KernelProbe {
  const req = createRequire(__filename);
  try {
    return (req(ADDON_PATH) as { kernelProbe: KernelProbe }).kernelProbe;
  } catch (e) {
    throw new Error(`cannot load ${ADDON_PATH} (build it with \`npm run build:native\`): ${(e as Error).message}`);
  }
}

/** Deterministic data: mulberry32. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * scale;
  return out;
}

const GUARD = 16;
const SENTINEL = Math.fround(-12345.678);
/** A Float32Array view of `values` with GUARD sentinel floats on each side in the same buffer. */
export function guarded(values: Float32Array): { view: Float32Array; intact: () => boolean } {
  const all = new Float32Array(values.length + 2 * GUARD).fill(SENTINEL);
  const view = new Float32Array(all.buffer, GUARD * 4, values.length);
  view.set(values);
  const intact = () => {
    for (let i = 0; i < GUARD; i++) if (all[i] !== SENTINEL || all[GUARD + values.length + i] !== SENTINEL) return false;
    return true;
  };
  return { view, intact };
}

/** float -> bf16 value, round to nearest even, subnormals to signed zero (native bf16_from_f32). */
export function bf16Round(x: number): number {
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


function around(values: number[], extra: number[]): number[] {
  const out = new Set<number>(extra);
  for (const v of values) {
    for (const s of [v - 1, v, v + 1, 2 * v]) if (s >= 1) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * m: around each running kernel's mr (and 97, several tiles with a remainder); n: around each
 * nr and vector width (and 100). The sizes stay small enough for a float64 reference in JS.
 */
export function tileEdges(kernels: LinearKernelInfo[]): { m: number[]; n: number[] } {
  // The kernels this CPU runs: the sizes of one it cannot run would only cost time here.
  const running = kernels.filter((k) => k.runs);
  const mr = [...new Set(running.map((k) => k.mr))];
  const nr = [...new Set(running.flatMap((k) => [k.nr, k.lanes]))];
  return { m: around(mr, [1, 13, 97]), n: around(nr, [1, 100]) };
}
