/**
 * The right answer to a puzzle a user typed, worked out without the model, so `trm solve`
 * can say whether the model got it right, and can refuse a puzzle that has no answer.
 */
import { InputError } from '../errors';
import { ComplianceTask, decodeClauses, encodeClauses } from '../tasks/compliance';
import { MAZE_GOAL, MAZE_OPEN, MAZE_PATH, MAZE_START, MazeTask, shortestPaths } from '../tasks/maze';
import { SudokuTask, sudokuDigits } from '../tasks/sudoku';
import { SudokuSolver } from '../tasks/sudoku-solver';
import type { Task } from '../tasks/task';

export interface Reference {
  /** The one right answer in label form; absent when there is more than one (see `note`). */
  labels?: Int32Array;
  /** Why there is no single answer to compare with. */
  note?: string;
}

function sudokuReference(task: SudokuTask, inputs: Int32Array): Reference {
  const digits = sudokuDigits(inputs);
  const solver = new SudokuSolver(task.box);
  const solutions = solver.countSolutions(digits, 2);
  if (solutions === 0) {
    throw new InputError('this Sudoku has no solution: its givens conflict or lead to a dead end', {
      field: 'puzzle', value: Array.from(digits).join(''), expected: `a ${task.size}x${task.size} Sudoku with at least one solution`,
    });
  }
  if (solutions > 1) return { note: 'the puzzle has more than one solution, so the answer is not checked against one' };
  return { labels: Int32Array.from(solver.solve(digits)!, (d) => d + 1) };
}

function mazeReference(task: MazeTask, inputs: Int32Array): Reference {
  const n = task.size;
  const cellsOf = (token: number) => inputs.reduce<number[]>((at, t, i) => (t === token ? [...at, i] : at), []);
  const starts = cellsOf(MAZE_START), goals = cellsOf(MAZE_GOAL);
  if (starts.length !== 1 || goals.length !== 1) {
    throw new InputError('a maze needs exactly one start S and one goal G', { field: 'puzzle', value: `${starts.length} S, ${goals.length} G`, expected: '1 S, 1 G' });
  }
  const { distance, paths } = shortestPaths(inputs, n, starts[0]);
  const goal = goals[0];
  if (distance[goal] < 0) throw new InputError('the goal cannot be reached from the start', { field: 'puzzle', value: 'S and G walled apart', expected: 'an open path from S to G' });
  if (paths[goal] > 1) return { note: 'the maze has more than one shortest path, so the answer is not checked against one' };
  const labels = inputs.slice();
  // With one shortest path, each cell on it has exactly one neighbour one step nearer to S.
  for (let cell = goal; ;) {
    const r = Math.floor(cell / n), c = cell % n;
    const neighbours = [r > 0 ? cell - n : -1, r < n - 1 ? cell + n : -1, c > 0 ? cell - 1 : -1, c < n - 1 ? cell + 1 : -1];
    cell = neighbours.find((m) => m >= 0 && distance[m] === distance[cell] - 1)!;
    if (cell === starts[0]) break;
    if (labels[cell] === MAZE_OPEN) labels[cell] = MAZE_PATH;
  }
  return { labels };
}

/** The reference answer for `inputs` (already parsed by `task.parse`); an InputError when the puzzle has none. */
export function referenceAnswer(task: Task, inputs: Int32Array): Reference {
  if (task instanceof SudokuTask) return sudokuReference(task, inputs);
  if (task instanceof MazeTask) return mazeReference(task, inputs);
  if (task instanceof ComplianceTask) return { labels: encodeClauses(decodeClauses(inputs)).labels };
  return { note: `no reference solver for task ${task.name}` };
}
