/**
 * A bitmask backtracking Sudoku solver for boxes of 2x2 (4x4 grids) and 3x3 (9x9 grids).
 * Grids are digits 0..n in row-major order, 0 for a blank. The search always fills the
 * blank with the fewest candidates first (minimum remaining values), which keeps counting
 * to 2 fast even on puzzles with 60 blanks; the generator calls it once per removed cell.
 */
import { SeededRandom } from '../util/seeded-random';
import { randomInt } from './task';

export class SudokuSolver {
  /** Grid side: box * box. */
  readonly size: number;
  readonly cells: number;
  private readonly full: number;
  private readonly popcount: Uint8Array;
  private readonly rowOf: Uint8Array;
  private readonly colOf: Uint8Array;
  private readonly boxOf: Uint8Array;
  // Search state, reused across calls so the hot loop allocates nothing.
  private readonly rowUsed: Int32Array;
  private readonly colUsed: Int32Array;
  private readonly boxUsed: Int32Array;
  private readonly empties: Int32Array;
  private readonly work: Uint8Array;
  private solutionsFound = 0;
  private limit = 0;
  private firstSolution: Uint8Array | null = null;
  private rng: SeededRandom | null = null;
  private forbiddenCell = -1;
  private forbiddenBit = 0;

  constructor(readonly box: number) {
    const n = box * box;
    this.size = n;
    this.cells = n * n;
    this.full = (1 << n) - 1;
    this.popcount = Uint8Array.from({ length: 1 << n }, (_, m) => {
      let c = 0;
      for (let x = m; x; x &= x - 1) c++;
      return c;
    });
    this.rowOf = Uint8Array.from({ length: this.cells }, (_, i) => Math.floor(i / n));
    this.colOf = Uint8Array.from({ length: this.cells }, (_, i) => i % n);
    this.boxOf = Uint8Array.from({ length: this.cells }, (_, i) => Math.floor(Math.floor(i / n) / box) * box + Math.floor((i % n) / box));
    this.rowUsed = new Int32Array(n);
    this.colUsed = new Int32Array(n);
    this.boxUsed = new Int32Array(n);
    this.empties = new Int32Array(this.cells);
    this.work = new Uint8Array(this.cells);
  }

  /**
   * Solutions of `grid`, counted up to `limit` (2 answers "is it unique?"). With
   * `forbid`, solutions that put `forbid.digit` at `forbid.cell` are not counted: the
   * generator asks "does any other digit fit this removed cell?", which needs one
   * solution instead of two.
   */
  countSolutions(grid: ArrayLike<number>, limit = 2, forbid?: { cell: number; digit: number }): number {
    if (!this.load(grid)) return 0;
    this.limit = limit;
    this.solutionsFound = 0;
    this.firstSolution = null;
    this.rng = null;
    this.forbiddenCell = forbid ? forbid.cell : -1;
    this.forbiddenBit = forbid ? 1 << (forbid.digit - 1) : 0;
    this.search(this.countEmpties());
    return this.solutionsFound;
  }

  /** The first solution found, or null when there is none. */
  solve(grid: ArrayLike<number>): Uint8Array | null {
    if (!this.load(grid)) return null;
    this.limit = 1;
    this.solutionsFound = 0;
    this.firstSolution = null;
    this.rng = null;
    this.forbiddenCell = -1;
    this.search(this.countEmpties());
    return this.firstSolution;
  }

  /**
   * A random complete, valid grid: the search from the empty grid with candidates tried in a
   * random order (every grid can come out, though not with exactly equal probability).
   */
  randomFullGrid(rng: SeededRandom): Uint8Array {
    this.load(new Uint8Array(this.cells));
    this.limit = 1;
    this.solutionsFound = 0;
    this.firstSolution = null;
    this.rng = rng;
    this.forbiddenCell = -1;
    this.search(this.countEmpties());
    this.rng = null;
    return this.firstSolution!;
  }

  /** Copies the grid into the work buffer and the used-digit masks; false on a clash among the givens. */
  private load(grid: ArrayLike<number>): boolean {
    if (grid.length !== this.cells) throw new RangeError(`a ${this.size}x${this.size} grid has ${this.cells} cells, got ${grid.length}`);
    this.rowUsed.fill(0);
    this.colUsed.fill(0);
    this.boxUsed.fill(0);
    for (let i = 0; i < this.cells; i++) {
      const d = grid[i];
      this.work[i] = d;
      if (d === 0) continue;
      if (!(d >= 1 && d <= this.size && Number.isInteger(d))) throw new RangeError(`cell ${i} holds ${d}, expected 0..${this.size}`);
      const bit = 1 << (d - 1);
      const r = this.rowOf[i], c = this.colOf[i], b = this.boxOf[i];
      if ((this.rowUsed[r] | this.colUsed[c] | this.boxUsed[b]) & bit) return false;
      this.rowUsed[r] |= bit;
      this.colUsed[c] |= bit;
      this.boxUsed[b] |= bit;
    }
    return true;
  }

  private countEmpties(): number {
    let k = 0;
    for (let i = 0; i < this.cells; i++) if (this.work[i] === 0) this.empties[k++] = i;
    return k;
  }

  /** Fills empties[0..remaining): picks the most constrained one, swaps it to the end, recurses. Returns true to stop. */
  private search(remaining: number): boolean {
    if (remaining === 0) {
      this.solutionsFound++;
      if (this.firstSolution === null) this.firstSolution = this.work.slice();
      return this.solutionsFound >= this.limit;
    }
    let bestSlot = -1;
    let bestMask = 0;
    let bestCount = 99;
    for (let s = 0; s < remaining; s++) {
      const i = this.empties[s];
      let mask = this.full & ~(this.rowUsed[this.rowOf[i]] | this.colUsed[this.colOf[i]] | this.boxUsed[this.boxOf[i]]);
      if (i === this.forbiddenCell) mask &= ~this.forbiddenBit;
      const count = this.popcount[mask];
      if (count < bestCount) {
        bestCount = count;
        bestMask = mask;
        bestSlot = s;
        if (count <= 1) break; // a dead end or a forced cell: nothing beats it
      }
    }
    if (bestCount === 0) return false;
    const cell = this.empties[bestSlot];
    this.empties[bestSlot] = this.empties[remaining - 1];
    this.empties[remaining - 1] = cell;
    const r = this.rowOf[cell], c = this.colOf[cell], b = this.boxOf[cell];
    let stop = false;
    if (this.rng !== null) {
      // Random candidate order for random full grids.
      const digits: number[] = [];
      for (let m = bestMask; m; m &= m - 1) digits.push(m & -m);
      for (let k = digits.length - 1; k > 0; k--) {
        const j = randomInt(this.rng, k + 1);
        const t = digits[k]; digits[k] = digits[j]; digits[j] = t;
      }
      for (const bit of digits) {
        if (this.place(cell, r, c, b, bit, remaining)) { stop = true; break; }
      }
    } else {
      for (let m = bestMask; m; m &= m - 1) {
        if (this.place(cell, r, c, b, m & -m, remaining)) { stop = true; break; }
      }
    }
    this.empties[remaining - 1] = this.empties[bestSlot];
    this.empties[bestSlot] = cell;
    return stop;
  }

  private place(cell: number, r: number, c: number, b: number, bit: number, remaining: number): boolean {
    this.work[cell] = 31 - Math.clz32(bit) + 1;
    this.rowUsed[r] |= bit;
    this.colUsed[c] |= bit;
    this.boxUsed[b] |= bit;
    const stop = this.search(remaining - 1);
    this.rowUsed[r] &= ~bit;
    this.colUsed[c] &= ~bit;
    this.boxUsed[b] &= ~bit;
    this.work[cell] = 0;
    return stop;
  }
}

/** True when `grid` (digits 1..n, no blanks) breaks no row, column or box rule. */
export function isValidSolution(grid: ArrayLike<number>, box: number): boolean {
  const n = box * box;
  if (grid.length !== n * n) return false;
  const full = (1 << n) - 1;
  for (let k = 0; k < n; k++) {
    let row = 0, col = 0, bx = 0;
    for (let j = 0; j < n; j++) {
      const br = Math.floor(k / box) * box + Math.floor(j / box);
      const bc = (k % box) * box + (j % box);
      for (const [d, which] of [[grid[k * n + j], 0], [grid[j * n + k], 1], [grid[br * n + bc], 2]] as const) {
        if (!(d >= 1 && d <= n)) return false;
        if (which === 0) row |= 1 << (d - 1);
        else if (which === 1) col |= 1 << (d - 1);
        else bx |= 1 << (d - 1);
      }
    }
    if (row !== full || col !== full || bx !== full) return false;
  }
  return true;
}
