/**
 * Maze: every label is a valid shortest S-G path and the only one, checked with a BFS written
 * here (distances from both ends, not the generator's path counting); the dihedral
 * augmentations keep that true; generation is deterministic and distinct.
 */
import { describe, expect, it } from 'vitest';
import { InputError, OptionError, SeededRandom } from '../../lib/index';
import { MazeTask, dihedral } from '../../lib/tasks/maze';
import type { Example } from '../../lib/tasks/task';

// The official tokens, written out independently of lib/: CHARSET "# SGo" -> 1..5.
const WALL = 1, OPEN = 2, START = 3, GOAL = 4, PATH = 5;

function bfs(passable: (i: number) => boolean, size: number, from: number): Int32Array {
  const dist = new Int32Array(size * size).fill(-1);
  dist[from] = 0;
  const queue = [from];
  for (let q = 0; q < queue.length; q++) {
    const cell = queue[q];
    const r = Math.floor(cell / size), c = cell % size;
    const around = [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]].filter(([y, x]) => y >= 0 && y < size && x >= 0 && x < size).map(([y, x]) => y * size + x);
    for (const next of around) {
      if (dist[next] === -1 && passable(next)) {
        dist[next] = dist[cell] + 1;
        queue.push(next);
      }
    }
  }
  return dist;
}

/** Checks one example and returns its path length. */
function checkMaze(example: Example, size: number): number {
  const { inputs, labels } = example;
  expect(inputs.length).toBe(size * size);
  const starts = [...inputs.keys()].filter((i) => inputs[i] === START);
  const goals = [...inputs.keys()].filter((i) => inputs[i] === GOAL);
  expect(starts.length).toBe(1);
  expect(goals.length).toBe(1);
  const [s, g] = [starts[0], goals[0]];
  for (let i = 0; i < inputs.length; i++) {
    expect([WALL, OPEN, START, GOAL]).toContain(inputs[i]);
    // Labels copy the inputs except open cells on the path, which become PATH.
    if (labels[i] === PATH) expect(inputs[i]).toBe(OPEN);
    else expect(labels[i]).toBe(inputs[i]);
  }
  // The border is wall.
  for (let k = 0; k < size; k++) {
    for (const i of [k, (size - 1) * size + k, k * size, k * size + size - 1]) expect(inputs[i]).toBe(WALL);
  }
  const passable = (i: number): boolean => inputs[i] !== WALL;
  const fromS = bfs(passable, size, s), fromG = bfs(passable, size, g);
  const length = fromS[g];
  expect(length).toBeGreaterThan(0);
  // The marked cells, plus S and G, are connected and exactly length + 1 cells: a shortest path.
  const pathCells = [...labels.keys()].filter((i) => labels[i] === PATH);
  expect(pathCells.length).toBe(length - 1);
  const onPath = (i: number): boolean => labels[i] === PATH || i === s || i === g;
  expect(bfs(onPath, size, s)[g]).toBe(length);
  // Unique: on every shortest path, the cell at distance d from S has fromS + fromG = length;
  // exactly one such cell per d means only one shortest path exists.
  const perDistance = new Int32Array(length + 1);
  for (let i = 0; i < inputs.length; i++) {
    if (fromS[i] >= 0 && fromG[i] >= 0 && fromS[i] + fromG[i] === length) perDistance[fromS[i]]++;
  }
  expect(Array.from(perDistance).every((n) => n === 1)).toBe(true);
  return length;
}

describe('maze', () => {
  it('uses the official token scheme', () => {
    const task = new MazeTask(11);
    expect([task.name, task.seqLen, task.vocabSize]).toEqual(['maze', 121, 6]);
  });

  for (const size of [9, 10, 11, 15]) {
    it(`generates ${size}x${size} mazes whose label is the unique shortest path`, () => {
      const task = new MazeTask(size);
      const examples = task.generate(60, size);
      const lengths = examples.map((e) => checkMaze(e, size));
      expect(Math.min(...lengths)).toBeGreaterThanOrEqual(size); // default minPathLength = N
    });
  }

  it('makes loops, so that the shortest path is not the only path', () => {
    const task = new MazeTask(11);
    let withLoops = 0;
    for (const example of task.generate(40, 1, { loopPercent: 30 })) {
      checkMaze(example, 11);
      // Walls removed along the path: the maze without the path cells still joins S and G when there is a loop around it.
      const s = example.inputs.indexOf(START), g = example.inputs.indexOf(GOAL);
      const longer = bfs((i) => example.inputs[i] !== WALL && example.labels[i] !== PATH, 11, s);
      const around = [g - 1, g + 1, g - 11, g + 11].some((i) => longer[i] >= 0);
      if (around) withLoops++;
    }
    expect(withLoops).toBeGreaterThan(0);
    // With no loops the maze is a tree: open cells = edges + 1 holds for its cell graph.
    for (const example of new MazeTask(9).generate(20, 2, { loopPercent: 0 })) {
      const open = [...example.inputs.keys()].filter((i) => example.inputs[i] !== WALL);
      let edges = 0;
      for (const i of open) {
        if (example.inputs[i + 1] !== WALL && (i + 1) % 9 !== 0) edges++;
        if (i + 9 < 81 && example.inputs[i + 9] !== WALL) edges++;
      }
      expect(edges).toBe(open.length - 1);
    }
  });

  it('honours minPathLength and rejects impossible requests', () => {
    const task = new MazeTask(9);
    for (const example of task.generate(20, 3, { minPathLength: 20 })) expect(checkMaze(example, 9)).toBeGreaterThanOrEqual(20);
    expect(() => task.generate(1, 1, { minPathLength: 80 })).toThrow(OptionError);
    expect(() => task.generate(1, 1, { loopPercent: 101 })).toThrow(/loopPercent/);
    expect(() => new MazeTask(4)).toThrow(/size/);
  });

  it('is deterministic per seed, with distinct examples', () => {
    const task = new MazeTask(11);
    const a = task.generate(100, 5), b = task.generate(100, 5), c = task.generate(100, 6);
    expect(a.map((e) => e.inputs.join())).toEqual(b.map((e) => e.inputs.join()));
    expect(a.map((e) => e.labels.join())).toEqual(b.map((e) => e.labels.join()));
    expect(a.map((e) => e.inputs.join())).not.toEqual(c.map((e) => e.inputs.join()));
    expect(new Set(a.map((e) => e.inputs.join())).size).toBe(100);
  });
});

describe('maze augmentation', () => {
  it('matches np.rot90 / fliplr / transpose on a 3x3 grid', () => {
    // Row-major 3x3 grid 0..8; expected values worked out from numpy's definitions.
    const grid = Int32Array.from({ length: 9 }, (_, i) => i);
    const expected = [
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
      [2, 5, 8, 1, 4, 7, 0, 3, 6], // np.rot90(k=1): counterclockwise
      [8, 7, 6, 5, 4, 3, 2, 1, 0],
      [6, 3, 0, 7, 4, 1, 8, 5, 2],
      [2, 1, 0, 5, 4, 3, 8, 7, 6], // fliplr
      [6, 7, 8, 3, 4, 5, 0, 1, 2], // flipud
      [0, 3, 6, 1, 4, 7, 2, 5, 8], // transpose
      [8, 5, 2, 7, 4, 1, 6, 3, 0], // fliplr(rot90)
    ];
    expected.forEach((want, tid) => expect(Array.from(dihedral(grid, 3, tid))).toEqual(want));
  });

  it('keeps the label the unique shortest path, and uses all 8 symmetries', () => {
    const task = new MazeTask(10);
    const rng = new SeededRandom(4);
    const example = task.generate(1, 1)[0];
    const seen = new Set<string>();
    for (let k = 0; k < 60; k++) {
      const aug = task.augment(example, rng);
      checkMaze(aug, 10);
      seen.add(aug.inputs.join());
    }
    expect(seen.size).toBe(8);
  });
});

describe('maze text', () => {
  it('formats and parses back, with trailing spaces trimmed', () => {
    const task = new MazeTask(9);
    const example = task.generate(1, 2)[0];
    const text = task.format(example.inputs);
    expect(text.split('\n').length).toBe(9);
    const trimmed = text.split('\n').map((l) => l.trimEnd()).join('\n');
    expect(Array.from(task.parse(trimmed))).toEqual(Array.from(example.inputs));
    expect(task.format(example.inputs, example.labels)).toContain('o');
  });

  it('rejects wrong sizes and characters with an InputError', () => {
    const task = new MazeTask(5);
    expect(() => task.parse('#####\n#S G#\n#####')).toThrow(InputError);
    expect(() => task.parse('#####\n#S  #\n# x #\n#  G#\n#####')).toThrow(/line 3, column 3/);
    expect(Array.from(task.parse('#####\n#S..#\n#.#.#\n#..G#\n#####')).slice(5, 10)).toEqual([WALL, START, OPEN, OPEN, WALL]);
  });
});
