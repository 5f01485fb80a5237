/**
 * Sudoku with the official encoding (`dataset/build_sudoku_dataset.py`): one token per cell
 * in row-major order, PAD 0, blank 1, digit d -> d + 1; every cell is labelled with its
 * solution token. 9x9 has vocab 11 as in the official set; 4x4 uses the same scheme (vocab 6).
 *
 * Puzzles are made here instead of downloaded: a random full grid, then cells removed in a
 * random order, each removal kept only when the solution stays unique, until the example's
 * number of blanks (drawn in [minBlanks, maxBlanks]) is reached.
 */
import { InputError, OptionError } from '../errors';
import { SeededRandom } from '../util/seeded-random';
import { SudokuSolver } from './sudoku-solver';
import {
  Example, GenerateOptions, Task, checkCount, checkIntOption, checkOptionKeys, collectDistinct, exactMatch, permutation, randomInt,
} from './task';

export const SUDOKU_PAD = 0;
export const SUDOKU_BLANK = 1;
/** Token of digit d is d + DIGIT_OFFSET. */
const DIGIT_OFFSET = 1;

export interface SudokuOptions extends GenerateOptions {
  /** Fewest blank cells per puzzle (default 6 for 4x4, 40 for 9x9). */
  minBlanks?: number;
  /**
   * Most blank cells per puzzle (default 10 for 4x4, 55 for 9x9). Up to 58 is quick on 9x9;
   * 59 is slow and 60 or more is out of reach of random-order removal (its puzzles stop at
   * 22-26 givens), and then generate throws an OptionError instead of searching on.
   */
  maxBlanks?: number;
}

const OPTION_KEYS = ['minBlanks', 'maxBlanks', 'exclude'] as const;

/** Fresh full grids tried per puzzle before a blank count is declared out of reach. */
const MAX_GRID_ATTEMPTS = 200;

export class SudokuTask implements Task<SudokuOptions> {
  readonly name: string;
  readonly size: number;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly numPuzzleIdentifiers = 1;
  /** Meaning of each token id, for docs and displays. */
  readonly tokenNames: readonly string[];
  private readonly solver: SudokuSolver;
  private readonly defaultBlanks: [number, number];

  constructor(readonly box: 2 | 3) {
    this.size = box * box;
    this.name = `sudoku${this.size}`;
    this.seqLen = this.size * this.size;
    this.vocabSize = this.size + 2;
    this.tokenNames = ['PAD', 'blank', ...Array.from({ length: this.size }, (_, d) => String(d + 1))];
    this.solver = new SudokuSolver(box);
    this.defaultBlanks = box === 2 ? [6, 10] : [40, 55];
  }

  generate(count: number, seed: number, options: SudokuOptions = {}): Example[] {
    checkCount(count);
    checkOptionKeys(this.name, options, OPTION_KEYS);
    // A 4x4 puzzle needs at least 4 givens and a 9x9 one 17 to be unique.
    const maxPossible = this.box === 2 ? this.seqLen - 4 : this.seqLen - 17;
    const minBlanks = checkIntOption('minBlanks', options.minBlanks ?? Math.min(this.defaultBlanks[0], options.maxBlanks ?? Infinity), 0, maxPossible);
    const maxBlanks = checkIntOption('maxBlanks', options.maxBlanks ?? Math.max(this.defaultBlanks[1], minBlanks), minBlanks, maxPossible);
    const rng = new SeededRandom(seed, this.name);
    return collectDistinct(count, options.exclude, () => {
      const { puzzle, solution } = this.makePuzzle(rng, minBlanks, maxBlanks);
      return {
        inputs: Int32Array.from(puzzle, (d) => (d === 0 ? SUDOKU_BLANK : d + DIGIT_OFFSET)),
        labels: Int32Array.from(solution, (d) => d + DIGIT_OFFSET),
        puzzleIdentifier: 0,
      };
    }, this.name);
  }

  /** One puzzle (digits, 0 = blank) with a unique solution and a blank count in [minBlanks, maxBlanks]. */
  makePuzzle(rng: SeededRandom, minBlanks: number, maxBlanks: number): { puzzle: Uint8Array; solution: Uint8Array } {
    for (let attempt = 0; attempt < MAX_GRID_ATTEMPTS; attempt++) {
      const solution = this.solver.randomFullGrid(rng);
      const target = minBlanks + randomInt(rng, maxBlanks - minBlanks + 1);
      const puzzle = solution.slice();
      let blanks = 0;
      for (const cell of permutation(this.seqLen, rng)) {
        if (blanks === target) break;
        const digit = puzzle[cell];
        puzzle[cell] = 0;
        // The puzzle so far has one solution; a second one after this removal would have to
        // differ here, so it suffices to ask whether any other digit fits this cell.
        if (this.solver.countSolutions(puzzle, 1, { cell, digit }) > 0) puzzle[cell] = digit;
        else blanks++;
      }
      // Removal order decides how far a grid can be emptied; a short one is retried on a fresh grid.
      if (blanks >= minBlanks) return { puzzle, solution };
    }
    throw new OptionError('could not reach that many blanks while keeping the solution unique', {
      field: 'minBlanks', value: minBlanks,
      expected: `fewer blanks (${MAX_GRID_ATTEMPTS} grids tried${this.box === 3 ? '; removal in random order seldom gets a 9x9 puzzle past 58 blanks' : ''})`,
    });
  }

  /**
   * The official Sudoku augmentation (`shuffle_sudoku`): relabel the digits, shuffle the bands
   * and the rows within each band, the stacks and the columns within each stack, and transpose
   * with probability 1/2. Each maps valid grids to valid grids and is a bijection on grids,
   * so the puzzle keeps exactly one solution: the transformed one.
   */
  augment(example: Example, rng: SeededRandom): Example {
    const { box, size: n } = this;
    const digitMap = permutation(n, rng); // digit d -> digitMap[d - 1] + 1
    const transpose = rng.nextU32() % 2 === 1;
    const linePerm = (): Int32Array => {
      const out = new Int32Array(n);
      const groups = permutation(box, rng);
      for (let g = 0; g < box; g++) {
        const inner = permutation(box, rng);
        for (let k = 0; k < box; k++) out[g * box + k] = groups[g] * box + inner[k];
      }
      return out;
    };
    const rowPerm = linePerm();
    const colPerm = linePerm();
    const mapTokens = (tokens: Int32Array): Int32Array => {
      const out = new Int32Array(tokens.length);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
          const sr = rowPerm[r], sc = colPerm[c];
          const t = transpose ? tokens[sc * n + sr] : tokens[sr * n + sc];
          out[r * n + c] = t > SUDOKU_BLANK ? digitMap[t - DIGIT_OFFSET - 1] + 1 + DIGIT_OFFSET : t;
        }
      }
      return out;
    };
    return { inputs: mapTokens(example.inputs), labels: mapTokens(example.labels), puzzleIdentifier: example.puzzleIdentifier };
  }

  isCorrect(predictions: Int32Array, example: Example): boolean {
    return exactMatch(predictions, example.labels);
  }

  format(inputs: Int32Array, outputs?: Int32Array): string {
    const { box, size: n } = this;
    const tokens = outputs ?? inputs;
    const cell = (t: number): string => (t === SUDOKU_BLANK ? '.' : t > SUDOKU_BLANK && t <= n + DIGIT_OFFSET ? String(t - DIGIT_OFFSET) : '?');
    const lines: string[] = [];
    const rule = Array.from({ length: box }, () => '-'.repeat(2 * box + 1)).join('+').slice(1, -1);
    for (let r = 0; r < n; r++) {
      if (r > 0 && r % box === 0) lines.push(rule);
      const groups: string[] = [];
      for (let g = 0; g < box; g++) {
        groups.push(Array.from({ length: box }, (_, k) => cell(tokens[r * n + g * box + k])).join(' '));
      }
      lines.push(groups.join(' | '));
    }
    return lines.join('\n');
  }

  /**
   * A puzzle string such as "1.3.4..." (row-major; '.', '0' or '_' for a blank). Whitespace
   * and the grid drawing characters '|', '-', '+' are skipped, so `format`'s output parses back.
   */
  parse(text: string): Int32Array {
    const chars = text.replace(/[\s|+-]/g, '');
    if (chars.length !== this.seqLen) {
      throw new InputError(`a ${this.size}x${this.size} Sudoku has ${this.seqLen} cells`, { field: 'text', value: text, expected: `${this.seqLen} cells (digits 1-${this.size}, '.' for a blank)` });
    }
    return Int32Array.from(chars, (ch, i) => {
      if (ch === '.' || ch === '0' || ch === '_') return SUDOKU_BLANK;
      const d = ch.charCodeAt(0) - 48;
      if (d >= 1 && d <= this.size) return d + DIGIT_OFFSET;
      throw new InputError('not a Sudoku cell', { field: `text[cell ${i}]`, value: ch, expected: `a digit 1-${this.size} or '.'` });
    });
  }

  /**
   * The official Sudoku recipe (README: mlp_t, no position encoding, 2 layers, H3/L6), at a
   * width that trains on a CPU.
   */
  suggestedConfig(): Record<string, unknown> {
    const small = this.box === 2;
    return {
      task: this.name,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      num_puzzle_identifiers: this.numPuzzleIdentifiers,
      hidden_size: small ? 64 : 128,
      num_heads: small ? 2 : 4,
      expansion: 4,
      H_cycles: small ? 2 : 3,
      L_cycles: small ? 4 : 6,
      L_layers: 2,
      halt_max_steps: small ? 8 : 16,
      halt_exploration_prob: 0.1,
      pos_encodings: 'none',
      mlp_t: true,
      puzzle_emb_ndim: 0,
      puzzle_emb_len: 0,
      no_ACT_continue: true,
    };
  }
}

/** Digits (0 = blank) of a Sudoku token sequence, for solvers and checks. */
export function sudokuDigits(tokens: Int32Array): Uint8Array {
  return Uint8Array.from(tokens, (t) => (t > SUDOKU_BLANK ? t - DIGIT_OFFSET : 0));
}
