/** Tile-edge sizes for kernel tests, from the GEMM entries of native/cpu/kernel_list.inc. */
import type { LinearKernelInfo } from '../../lib/native/addon';

function around(values: number[], extra: number[]): number[] {
  const out = new Set<number>(extra);
  for (const v of values) {
    for (const s of [v - 1, v, v + 1, 2 * v]) if (s >= 1) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * m: around each kernel's mr (and 97, several tiles with a remainder); n: around each nr and
 * vector width (and 100). The sizes stay small enough for a float64 reference in JS.
 */
export function tileEdges(kernels: LinearKernelInfo[]): { m: number[]; n: number[] } {
  const mr = [...new Set(kernels.map((k) => k.mr))];
  const nr = [...new Set(kernels.flatMap((k) => [k.nr, k.lanes]))];
  return { m: around(mr, [1, 13, 97]), n: around(nr, [1, 100]) };
}
