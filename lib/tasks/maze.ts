/**
 * Shortest path in an N x N maze, with the official maze tokens (`dataset/build_maze_dataset.py`,
 * CHARSET "# SGo" -> 1..5, PAD 0). The input is the maze with its start S and goal G; the
 * label is the same grid with the cells of the shortest S-G path (S and G excluded) drawn
 * as 'o'. Every cell is labelled.
 *
 * Mazes are spanning trees over the rooms at odd coordinates (carved by a randomized
 * depth-first search, which gives long winding corridors), with a fraction of the remaining
 * walls between rooms knocked out to make loops, so that the model has to find the shortest
 * path and not just the only one. Loops can make two shortest paths; such (maze, S, G) draws
 * are rejected, so every label is the one shortest path (checked by counting paths in the BFS).
 */
import { InputError, OptionError } from '../errors';
import { SeededRandom } from '../util/seeded-random';
import {
  Example, GenerateOptions, Task, checkCount, checkIntOption, checkOptionKeys, collectDistinct, exactMatch, randomInt, shuffleInPlace,
} from './task';

export const MAZE_PAD = 0;
export const MAZE_WALL = 1;
export const MAZE_OPEN = 2;
export const MAZE_START = 3;
export const MAZE_GOAL = 4;
export const MAZE_PATH = 5;
/** The official character of each token (index = token id; PAD has none). */
export const MAZE_CHARSET = '\0# SGo';

export const MAZE_MIN_SIZE = 5;
export const MAZE_MAX_SIZE = 63;

export interface MazeOptions extends GenerateOptions {
  /** Fewest steps from S to G (default: the maze size N). */
  minPathLength?: number;
  /** Percent (0-100) of the walls between two rooms left standing by the spanning tree that are knocked out (default 10). */
  loopPercent?: number;
}

const OPTION_KEYS = ['minPathLength', 'loopPercent', 'exclude'] as const;
const MAX_ATTEMPTS = 1000;

export class MazeTask implements Task<MazeOptions> {
  readonly name = 'maze';
  readonly seqLen: number;
  readonly vocabSize = MAZE_CHARSET.length;
  readonly numPuzzleIdentifiers = 1;
  readonly tokenNames: readonly string[] = ['PAD', 'wall #', 'open', 'start S', 'goal G', 'path o'];

  /** `size` is N: every example of one dataset has the same N, as seq_len = N * N. Odd N uses every row; even N leaves a second wall line at the bottom and right. */
  constructor(readonly size = 11) {
    checkIntOption('size', size, MAZE_MIN_SIZE, MAZE_MAX_SIZE);
    this.seqLen = size * size;
  }

  generate(count: number, seed: number, options: MazeOptions = {}): Example[] {
    checkCount(count);
    checkOptionKeys(this.name, options, OPTION_KEYS);
    const minPathLength = checkIntOption('minPathLength', options.minPathLength ?? this.size, 1, this.seqLen);
    const loopPercent = checkIntOption('loopPercent', options.loopPercent ?? 10, 0, 100);
    const rng = new SeededRandom(seed, `${this.name}${this.size}`);
    return collectDistinct(count, options.exclude, () => this.makeExample(rng, minPathLength, loopPercent), this.name);
  }

  private makeExample(rng: SeededRandom, minPathLength: number, loopPercent: number): Example {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const grid = this.carve(rng, loopPercent);
      const open: number[] = [];
      for (let i = 0; i < grid.length; i++) if (grid[i] === MAZE_OPEN) open.push(i);
      const start = open[randomInt(rng, open.length)];
      const { distance, paths } = shortestPaths(grid, this.size, start);
      const far = open.filter((i) => distance[i] >= minPathLength && paths[i] === 1);
      if (far.length === 0) continue;
      const goal = far[randomInt(rng, far.length)];
      const inputs = Int32Array.from(grid);
      inputs[start] = MAZE_START;
      inputs[goal] = MAZE_GOAL;
      const labels = inputs.slice();
      // Walk back from G along strictly decreasing distances: with one shortest path the step is forced.
      for (let cell = previousOnPath(goal, distance, this.size); cell !== start; cell = previousOnPath(cell, distance, this.size)) {
        labels[cell] = MAZE_PATH;
      }
      return { inputs, labels, puzzleIdentifier: 0 };
    }
    throw new OptionError('no start and goal that far apart with a unique shortest path', {
      field: 'minPathLength', value: minPathLength, expected: `a shorter path for a ${this.size}x${this.size} maze`,
    });
  }

  /** Walls everywhere, rooms at odd (row, col), a random spanning tree of rooms, then loops. */
  private carve(rng: SeededRandom, loopPercent: number): Uint8Array {
    const n = this.size;
    const rooms = (n - 1) >> 1; // rooms per side
    const grid = new Uint8Array(n * n).fill(MAZE_WALL);
    const cellOf = (rr: number, rc: number): number => (2 * rr + 1) * n + (2 * rc + 1);
    const visited = new Uint8Array(rooms * rooms);
    const stack = [randomInt(rng, rooms * rooms)];
    visited[stack[0]] = 1;
    grid[cellOf(Math.floor(stack[0] / rooms), stack[0] % rooms)] = MAZE_OPEN;
    const steps: Array<[number, number]> = [[-1, 0], [1, 0], [0, -1], [0, 1]];
    while (stack.length > 0) {
      const room = stack[stack.length - 1];
      const rr = Math.floor(room / rooms), rc = room % rooms;
      const next: number[] = [];
      for (const [dr, dc] of steps) {
        const nr = rr + dr, nc = rc + dc;
        if (nr >= 0 && nr < rooms && nc >= 0 && nc < rooms && !visited[nr * rooms + nc]) next.push(nr * rooms + nc);
      }
      if (next.length === 0) {
        stack.pop();
        continue;
      }
      const chosen = next[randomInt(rng, next.length)];
      const cr = Math.floor(chosen / rooms), cc = chosen % rooms;
      visited[chosen] = 1;
      grid[cellOf(cr, cc)] = MAZE_OPEN;
      grid[(rr + cr + 1) * n + (rc + cc + 1)] = MAZE_OPEN; // the wall between the two rooms
      stack.push(chosen);
    }
    if (loopPercent > 0) {
      // Walls between two horizontally or vertically adjacent rooms that are still standing.
      const inner: number[] = [];
      for (let r = 1; r < 2 * rooms; r++) {
        for (let c = 1; c < 2 * rooms; c++) {
          if ((r % 2) !== (c % 2) && grid[r * n + c] === MAZE_WALL) inner.push(r * n + c);
        }
      }
      shuffleInPlace(inner, rng);
      const knock = Math.round((inner.length * loopPercent) / 100);
      for (let k = 0; k < knock; k++) grid[inner[k]] = MAZE_OPEN;
    }
    return grid;
  }

  /** The 8 symmetries of the square (the official `dihedral_transform`), applied to inputs and labels alike. */
  augment(example: Example, rng: SeededRandom): Example {
    const transform = randomInt(rng, 8);
    return {
      inputs: dihedral(example.inputs, this.size, transform),
      labels: dihedral(example.labels, this.size, transform),
      puzzleIdentifier: example.puzzleIdentifier,
    };
  }

  isCorrect(predictions: Int32Array, example: Example): boolean {
    return exactMatch(predictions, example.labels);
  }

  format(inputs: Int32Array, outputs?: Int32Array): string {
    const tokens = outputs ?? inputs;
    const lines: string[] = [];
    for (let r = 0; r < this.size; r++) {
      let line = '';
      for (let c = 0; c < this.size; c++) {
        const t = tokens[r * this.size + c];
        line += t >= MAZE_WALL && t <= MAZE_PATH ? MAZE_CHARSET[t] : '?';
      }
      lines.push(line);
    }
    return lines.join('\n');
  }

  /**
   * N lines of N characters from "# SG" ('.' also means open, as editors trim trailing
   * spaces; a line shorter than N is padded with open cells for the same reason).
   */
  parse(text: string): Int32Array {
    const lines = text.replace(/\r/g, '').split('\n');
    while (lines.length > 0 && lines[0].trim() === '') lines.shift();
    while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
    if (lines.length !== this.size) {
      throw new InputError(`a ${this.size}x${this.size} maze has ${this.size} lines`, { field: 'text', value: lines.length, expected: `${this.size} lines` });
    }
    const out = new Int32Array(this.seqLen);
    lines.forEach((line, r) => {
      if (line.length > this.size) throw new InputError('maze line too long', { field: `text[line ${r + 1}]`, value: line, expected: `at most ${this.size} characters` });
      for (let c = 0; c < this.size; c++) {
        const ch = c < line.length ? line[c] : ' ';
        const token = ch === '.' ? MAZE_OPEN : MAZE_CHARSET.indexOf(ch);
        if (token < MAZE_WALL || token > MAZE_GOAL) {
          throw new InputError('not a maze cell', { field: `text[line ${r + 1}, column ${c + 1}]`, value: ch, expected: "'#', ' ', '.', 'S' or 'G'" });
        }
        out[r * this.size + c] = token;
      }
    });
    return out;
  }

  /** The official maze recipe (attention, RoPE, 2 layers, H3/L4), at a width that trains on a CPU. */
  suggestedConfig(): Record<string, unknown> {
    return {
      task: this.name,
      maze_size: this.size,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      num_puzzle_identifiers: this.numPuzzleIdentifiers,
      hidden_size: 128,
      num_heads: 4,
      expansion: 4,
      H_cycles: 3,
      L_cycles: 4,
      L_layers: 2,
      halt_max_steps: 16,
      halt_exploration_prob: 0.1,
      pos_encodings: 'rope',
      mlp_t: false,
      puzzle_emb_ndim: 0,
      puzzle_emb_len: 0,
      no_ACT_continue: true,
    };
  }
}

/**
 * BFS from `start` over non-wall cells: the distance of every cell (-1 if unreachable) and
 * the number of shortest paths to it, capped at 2 (all the generator needs to know).
 */
export function shortestPaths(grid: ArrayLike<number>, size: number, start: number): { distance: Int32Array; paths: Uint8Array } {
  const distance = new Int32Array(size * size).fill(-1);
  const paths = new Uint8Array(size * size);
  const queue = new Int32Array(size * size);
  let head = 0, tail = 0;
  distance[start] = 0;
  paths[start] = 1;
  queue[tail++] = start;
  while (head < tail) {
    const cell = queue[head++];
    const r = Math.floor(cell / size), c = cell % size;
    for (const next of [r > 0 ? cell - size : -1, r < size - 1 ? cell + size : -1, c > 0 ? cell - 1 : -1, c < size - 1 ? cell + 1 : -1]) {
      if (next < 0 || grid[next] === MAZE_WALL) continue;
      if (distance[next] === -1) {
        distance[next] = distance[cell] + 1;
        queue[tail++] = next;
      }
      if (distance[next] === distance[cell] + 1) paths[next] = Math.min(2, paths[next] + paths[cell]);
    }
  }
  return { distance, paths };
}

function previousOnPath(cell: number, distance: Int32Array, size: number): number {
  const r = Math.floor(cell / size), c = cell % size;
  for (const prev of [r > 0 ? cell - size : -1, r < size - 1 ? cell + size : -1, c > 0 ? cell - 1 : -1, c < size - 1 ? cell + 1 : -1]) {
    if (prev >= 0 && distance[prev] === distance[cell] - 1) return prev;
  }
  throw new Error(`internal: no predecessor of cell ${cell} at distance ${distance[cell]}`);
}

/**
 * Transform `tid` of the official `dihedral_transform` on a square grid: 0 identity, 1-3
 * rotations by 90/180/270 degrees counterclockwise (np.rot90), 4 left-right flip, 5 up-down
 * flip, 6 transpose, 7 anti-transpose.
 */
export function dihedral(tokens: Int32Array, size: number, tid: number): Int32Array {
  const out = new Int32Array(tokens.length);
  const last = size - 1;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      // (sr, sc): the source cell that lands at (r, c).
      let sr: number, sc: number;
      switch (tid) {
        case 0: sr = r; sc = c; break;
        case 1: sr = c; sc = last - r; break; // rot90: out[r][c] = in[c][n-1-r]
        case 2: sr = last - r; sc = last - c; break;
        case 3: sr = last - c; sc = r; break;
        case 4: sr = r; sc = last - c; break;
        case 5: sr = last - r; sc = c; break;
        case 6: sr = c; sc = r; break;
        case 7: sr = last - c; sc = last - r; break; // fliplr(rot90)
        default: throw new RangeError(`dihedral transform ${tid} not in 0..7`);
      }
      out[r * size + c] = tokens[sr * size + sc];
    }
  }
  return out;
}
