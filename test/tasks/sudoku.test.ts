/**
 * Sudoku: the bitmask solver, uniqueness of generated puzzles (checked by searches that share
 * no code with the generator), blank counts, determinism and the official augmentations.
 */
import { describe, expect, it } from 'vitest';
import { InputError, OptionError, SeededRandom } from '../../lib/index';
import { SudokuSolver, isValidSolution } from '../../lib/tasks/sudoku-solver';
import { SudokuTask, sudokuDigits } from '../../lib/tasks/sudoku';
import type { Example } from '../../lib/tasks/task';

// The example puzzle of Wikipedia's "Sudoku" article (image by Tim Stellmach, public
// domain), with its solution as printed there.
const WIKI_PUZZLE = '53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79';
const WIKI_SOLUTION = '534678912672195348198342567859761423426853791713924856961537284287419635345286179';
const digitsOf = (s: string): Uint8Array => Uint8Array.from(s, (ch) => (ch === '.' ? 0 : Number(ch)));

/** All 288 valid 4x4 grids, by brute force over rows that are permutations of 1..4 (no solver involved). */
function allGrids4(): Uint8Array[] {
  const perms: number[][] = [];
  const permute = (prefix: number[], rest: number[]): void => {
    if (rest.length === 0) perms.push(prefix);
    rest.forEach((d, k) => permute([...prefix, d], [...rest.slice(0, k), ...rest.slice(k + 1)]));
  };
  permute([], [1, 2, 3, 4]);
  const grids: Uint8Array[] = [];
  for (const a of perms) for (const b of perms) for (const c of perms) for (const d of perms) {
    const g = Uint8Array.from([...a, ...b, ...c, ...d]);
    if (isValidSolution(g, 2)) grids.push(g);
  }
  return grids;
}

/**
 * Counts 9x9 solutions up to `limit` with plain row-major backtracking that scans rows,
 * columns and boxes: a different search order and different bookkeeping from the solver.
 */
function naiveCount(grid: Uint8Array, limit: number): number {
  const g = grid.slice();
  const fits = (i: number, d: number): boolean => {
    const r = Math.floor(i / 9), c = i % 9, br = r - (r % 3), bc = c - (c % 3);
    for (let k = 0; k < 9; k++) {
      if (g[r * 9 + k] === d || g[k * 9 + c] === d || g[(br + Math.floor(k / 3)) * 9 + bc + (k % 3)] === d) return false;
    }
    return true;
  };
  let count = 0;
  const go = (i: number): void => {
    if (count >= limit) return;
    if (i === 81) { count++; return; }
    if (g[i] !== 0) { go(i + 1); return; }
    for (let d = 9; d >= 1; d--) { // descending: the opposite digit order too
      if (fits(i, d)) { g[i] = d; go(i + 1); g[i] = 0; }
    }
  };
  go(0);
  return count;
}

function blanksOf(example: Example): number {
  return example.inputs.reduce((n, t) => n + (t === 1 ? 1 : 0), 0);
}

/** Every given cell shows its solution digit; blanks are token 1; labels are a valid grid. */
function expectConsistent(example: Example, box: number): void {
  const n = box * box;
  expect(example.inputs.length).toBe(n * n);
  expect(isValidSolution(sudokuDigits(example.labels), box)).toBe(true);
  for (let i = 0; i < n * n; i++) {
    expect(example.labels[i]).toBeGreaterThanOrEqual(2);
    if (example.inputs[i] !== 1) expect(example.inputs[i]).toBe(example.labels[i]);
  }
}

describe('SudokuSolver', () => {
  it('solves the Wikipedia puzzle to its printed solution, and finds it unique', () => {
    const solver = new SudokuSolver(3);
    expect(Array.from(solver.solve(digitsOf(WIKI_PUZZLE))!).join('')).toBe(WIKI_SOLUTION);
    expect(solver.countSolutions(digitsOf(WIKI_PUZZLE), 2)).toBe(1);
  });

  it('counts all 288 4x4 grids from the empty grid', () => {
    const solver = new SudokuSolver(2);
    expect(allGrids4().length).toBe(288);
    expect(solver.countSolutions(new Uint8Array(16), 10_000)).toBe(288);
  });

  it('counts to the limit, honours a forbidden digit, and rejects clashing givens', () => {
    const solver = new SudokuSolver(3);
    const open = digitsOf(WIKI_PUZZLE);
    open.fill(0, 0, 27); // three empty rows: many solutions
    expect(solver.countSolutions(open, 2)).toBe(2);
    expect(solver.countSolutions(open, 5)).toBe(5);
    const puzzle = digitsOf(WIKI_PUZZLE);
    // Cell 2 of the unique puzzle must be 4: forbidding 4 there leaves no solution, forbidding another digit changes nothing.
    expect(solver.countSolutions(puzzle, 2, { cell: 2, digit: 4 })).toBe(0);
    expect(solver.countSolutions(puzzle, 2, { cell: 2, digit: 1 })).toBe(1);
    const clash = digitsOf(WIKI_PUZZLE);
    clash[2] = 5; // a second 5 in row 0
    expect(solver.countSolutions(clash, 2)).toBe(0);
    expect(solver.solve(clash)).toBeNull();
  });

  it('makes valid random full grids that differ between draws', () => {
    const solver = new SudokuSolver(3);
    const rng = new SeededRandom(5);
    const a = solver.randomFullGrid(rng), b = solver.randomFullGrid(rng);
    expect(isValidSolution(a, 3)).toBe(true);
    expect(isValidSolution(b, 3)).toBe(true);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});

describe('sudoku4', () => {
  const task = new SudokuTask(2);
  const grids = allGrids4();

  it('has the official encoding shape', () => {
    expect([task.name, task.seqLen, task.vocabSize, task.numPuzzleIdentifiers]).toEqual(['sudoku4', 16, 6, 1]);
  });

  it('generates puzzles whose one solution (by exhaustive enumeration) is the label', () => {
    const examples = task.generate(300, 11, { minBlanks: 4, maxBlanks: 12 });
    let hardest = 0;
    for (const example of examples) {
      expectConsistent(example, 2);
      const givens = sudokuDigits(example.inputs);
      const matching = grids.filter((g) => g.every((d, i) => givens[i] === 0 || givens[i] === d));
      expect(matching.length).toBe(1);
      expect(Array.from(matching[0])).toEqual(Array.from(sudokuDigits(example.labels)));
      const blanks = blanksOf(example);
      expect(blanks).toBeGreaterThanOrEqual(4);
      expect(blanks).toBeLessThanOrEqual(12);
      hardest = Math.max(hardest, blanks);
    }
    expect(hardest).toBeGreaterThanOrEqual(11); // the range is really used, up to near the 4-clue minimum
  });

  it('rejects blank counts no unique 4x4 puzzle has, and unknown options', () => {
    expect(() => task.generate(1, 1, { minBlanks: 13 })).toThrow(OptionError);
    expect(() => task.generate(1, 1, { minBlanks: 8, maxBlanks: 6 })).toThrow(/maxBlanks/);
    expect(() => task.generate(1, 1, { blanks: 3 } as never)).toThrow(/unknown option/);
    expect(() => task.generate(-1, 1)).toThrow(OptionError);
  });

  it('cannot invent more distinct puzzles than exist: fails with an OptionError, not a hang', () => {
    // 4x4 puzzles with 0 blanks are the 288 full grids.
    expect(task.generate(288, 1, { minBlanks: 0, maxBlanks: 0 }).length).toBe(288);
    expect(() => task.generate(289, 1, { minBlanks: 0, maxBlanks: 0 })).toThrow(/distinct/);
  });
});

describe('sudoku9', () => {
  const task = new SudokuTask(3);

  it('has the official encoding shape', () => {
    expect([task.name, task.seqLen, task.vocabSize]).toEqual(['sudoku9', 81, 11]);
  });

  it('generates unique puzzles with 45-55 blanks, confirmed by an independent search', () => {
    const examples = task.generate(12, 3, { minBlanks: 45, maxBlanks: 55 });
    for (const example of examples) {
      expectConsistent(example, 3);
      const blanks = blanksOf(example);
      expect(blanks).toBeGreaterThanOrEqual(45);
      expect(blanks).toBeLessThanOrEqual(55);
      expect(naiveCount(sudokuDigits(example.inputs), 2)).toBe(1);
    }
  });

  it('reaches 58 or more blanks, and says so when a count is out of reach', () => {
    expect(() => task.generate(1, 1, { minBlanks: 62 })).toThrow(/seldom gets a 9x9 puzzle past 58 blanks/);
    const examples = task.generate(5, 4, { minBlanks: 58, maxBlanks: 60 });
    const solver = new SudokuSolver(3);
    for (const example of examples) {
      expect(blanksOf(example)).toBeGreaterThanOrEqual(58);
      expect(solver.countSolutions(sudokuDigits(example.inputs), 2)).toBe(1);
    }
  });

  it('generates 1000 puzzles with 45-55 blanks in a few seconds', () => {
    const start = performance.now();
    const examples = task.generate(1000, 2024, { minBlanks: 45, maxBlanks: 55 });
    const ms = performance.now() - start;
    console.log(`sudoku9: 1000 puzzles with 45-55 blanks in ${ms.toFixed(0)} ms`);
    expect(examples.length).toBe(1000);
    const solver = new SudokuSolver(3);
    for (const example of examples.slice(0, 50)) expect(solver.countSolutions(sudokuDigits(example.inputs), 2)).toBe(1);
    expect(ms).toBeLessThan(10_000);
  });

  it('is deterministic per seed, and seeds differ', () => {
    const a = task.generate(5, 7), b = task.generate(5, 7), c = task.generate(5, 8);
    expect(a.map((e) => Array.from(e.inputs))).toEqual(b.map((e) => Array.from(e.inputs)));
    expect(a.map((e) => Array.from(e.labels))).toEqual(b.map((e) => Array.from(e.labels)));
    expect(a.map((e) => Array.from(e.inputs))).not.toEqual(c.map((e) => Array.from(e.inputs)));
    const keys = new Set(task.generate(200, 9).map((e) => e.inputs.join()));
    expect(keys.size).toBe(200);
  });

  it('defaults to 40-55 blanks', () => {
    for (const example of task.generate(20, 1)) {
      expect(blanksOf(example)).toBeGreaterThanOrEqual(40);
      expect(blanksOf(example)).toBeLessThanOrEqual(55);
    }
  });
});

describe('augmentation', () => {
  for (const box of [2, 3] as const) {
    it(`keeps ${box * box}x${box * box} puzzles valid, unique and matched to their labels`, () => {
      const task = new SudokuTask(box);
      const solver = new SudokuSolver(box);
      const rng = new SeededRandom(99);
      const seen = new Set<string>();
      for (const example of task.generate(10, 5)) {
        for (let k = 0; k < 10; k++) {
          const aug = task.augment(example, rng);
          expectConsistent(aug, box);
          expect(blanksOf(aug)).toBe(blanksOf(example));
          expect(solver.countSolutions(sudokuDigits(aug.inputs), 2)).toBe(1);
          expect(Array.from(solver.solve(sudokuDigits(aug.inputs))!)).toEqual(Array.from(sudokuDigits(aug.labels)));
          seen.add(aug.inputs.join());
        }
      }
      expect(seen.size).toBeGreaterThan(90); // the transformations really vary
    });
  }

  it('moves rows within bands and bands whole (or columns and stacks, when it transposes)', () => {
    const task = new SudokuTask(3);
    const example = task.generate(1, 1)[0];
    const rng = new SeededRandom(3);
    // Per band, the sorted blank counts of its three rows; the bands as a sorted list. Row and
    // column shuffles within the rules keep this signature; moving a row to another band or
    // an arbitrary permutation would almost always change it.
    const signature = (t: Int32Array, byRow: boolean): string => {
      const counts = Array.from({ length: 9 }, (_, i) => Array.from({ length: 9 }, (_, j) => t[byRow ? i * 9 + j : j * 9 + i]).filter((x) => x === 1).length);
      return [0, 1, 2].map((b) => counts.slice(3 * b, 3 * b + 3).sort().join(',')).sort().join('|');
    };
    expect(signature(example.inputs, true)).not.toBe(signature(example.inputs, false)); // the test can tell rows from columns
    let transposed = 0;
    for (let k = 0; k < 40; k++) {
      const aug = task.augment(example, rng);
      const asRows = signature(aug.inputs, true) === signature(example.inputs, true) && signature(aug.inputs, false) === signature(example.inputs, false);
      const asCols = signature(aug.inputs, true) === signature(example.inputs, false) && signature(aug.inputs, false) === signature(example.inputs, true);
      expect(asRows || asCols).toBe(true);
      if (!asRows) transposed++;
    }
    expect(transposed).toBeGreaterThan(5); // transposition happens (about half the time)
    expect(transposed).toBeLessThan(35);
  });
});

describe('text', () => {
  it('parses a Sudoku string and formats it back', () => {
    const task = new SudokuTask(3);
    const tokens = task.parse(WIKI_PUZZLE);
    expect(tokens[0]).toBe(6); // digit 5 -> token 6
    expect(tokens[2]).toBe(1); // blank
    expect(Array.from(task.parse(task.format(tokens)))).toEqual(Array.from(tokens));
    const example = task.generate(1, 1)[0];
    const shown = task.format(example.inputs, example.labels);
    expect(shown).not.toContain('.');
    expect(Array.from(task.parse(shown))).toEqual(Array.from(example.labels));
  });

  it('rejects malformed strings with an InputError naming the cell', () => {
    const task = new SudokuTask(2);
    expect(() => task.parse('1.3.')).toThrow(InputError);
    expect(() => task.parse('1.3.4...........')).not.toThrow();
    expect(() => task.parse('1.3.5...........')).toThrow(/cell 4/);
  });
});
