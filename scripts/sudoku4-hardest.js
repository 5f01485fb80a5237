#!/usr/bin/env node
// Scores a 4x4 Sudoku model on the hardest 4x4 puzzles the sudoku4 task makes: every puzzle
// with 10 blanks (6 givens; the task's default maximum) and a unique solution. There are few enough to try them all: every one of the 288 full grids with every
// choice of 6 given cells, kept when the solution is unique. Needs the built dist/.
//
//   node scripts/sudoku4-hardest.js [MODEL_DIR] [--limit N] [--offset K] [--threads N] [--adaptive-only] [--failures N]
//
// Prints how many such puzzles exist, and the model's exact accuracy on them (or on N of them
// starting at index K, default 0, in a fixed shuffled order) under fixed steps and adaptive halting (--adaptive-only: adaptive
// halting alone, about 8x faster); --failures N prints up to N puzzles it gets wrong (puzzle, solution,
// the model's answer; '.' a blank) under the last rule scored.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('../dist/index.js');
const { SudokuSolver } = require('../dist/tasks/sudoku-solver.js');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { limit: { type: 'string' }, offset: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' }, 'adaptive-only': { type: 'boolean' }, failures: { type: 'string' } } });
const dir = path.resolve(positionals[0] ?? path.join(__dirname, '..', 'models', 'sudoku-4x4'));

function allGrids() {
  const grids = [];
  const g = new Uint8Array(16);
  const ok = (cell, d) => {
    const r = cell >> 2, c = cell & 3, br = r & 2, bc = c & 2;
    for (let k = 0; k < 4; k++) if (g[r * 4 + k] === d || g[k * 4 + c] === d) return false;
    for (let i = br; i < br + 2; i++) for (let j = bc; j < bc + 2; j++) if (g[i * 4 + j] === d) return false;
    return true;
  };
  const fill = (cell) => {
    if (cell === 16) { grids.push(g.slice()); return; }
    for (let d = 1; d <= 4; d++) if (ok(cell, d)) { g[cell] = d; fill(cell + 1); g[cell] = 0; }
  };
  fill(0);
  return grids;
}

function hardestPuzzles() {
  const solver = new SudokuSolver(2);
  const out = [];
  const grids = allGrids();
  const puzzle = new Uint8Array(16);
  for (const grid of grids) {
    for (let mask = 0; mask < 1 << 16; mask++) {
      let bits = mask, n = 0;
      while (bits) { bits &= bits - 1; n++; }
      if (n !== 6) continue;
      for (let i = 0; i < 16; i++) puzzle[i] = mask & (1 << i) ? grid[i] : 0;
      if (solver.countSolutions(puzzle, 2) === 1) {
        out.push({ inputs: Int32Array.from(puzzle, (d) => (d === 0 ? 1 : d + 1)), labels: Int32Array.from(grid, (d) => d + 1), puzzleIdentifier: 0 });
      }
    }
  }
  return { grids: grids.length, puzzles: out };
}

// Rounded down, so that a miss never reads as 100%.
const percent = (correct, count) => `${(Math.floor((100000 * correct) / count) / 1000).toFixed(3)}%`;
const cells = (tokens) => Array.from(tokens, (t) => (t === 1 ? '.' : String(t - 1))).join('');

// The puzzles a run got wrong, from the final predictions evaluateModel returns (no second pass).
function printFailures(run, examples, most) {
  let shown = 0;
  for (let i = 0; i < examples.length && shown < most; i++) {
    const e = examples[i];
    const answer = run.predictions.subarray(i * 16, (i + 1) * 16);
    if (answer.some((t, j) => t !== e.labels[j])) {
      shown++;
      console.log(`wrong: puzzle ${cells(e.inputs)} solution ${cells(e.labels)} answer ${cells(answer)}`);
    }
  }
}

async function main() {
  const start = Date.now();
  const { grids, puzzles } = hardestPuzzles();
  // A fixed shuffle, so --limit takes a spread of grids rather than the first ones.
  const rng = new lib.SeededRandom(1, 'sudoku4-hardest');
  for (let i = puzzles.length - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [puzzles[i], puzzles[j]] = [puzzles[j], puzzles[i]];
  }
  const count = (flag, fallback) => {
    if (values[flag] === undefined) return fallback;
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be an integer >= 0, not ${values[flag]}`);
    return n;
  };
  const offset = count('offset', 0);
  const limit = count('limit', puzzles.length);
  const examples = puzzles.slice(offset, offset + limit);
  const model = await lib.loadModel(dir, values.threads ? { threads: Number(values.threads) } : {});
  try {
    const fixed = values['adaptive-only'] ? undefined : await lib.evaluateModel(model, examples, { haltThreshold: null, batch: 256 });
    const adaptive = await lib.evaluateModel(model, examples, { haltThreshold: 0.5, batch: 256 });
    const summary = {
      model: dir, grids, hardestPuzzles: puzzles.length, offset, scored: examples.length,
      fixed: fixed && { exact: fixed.exactAccuracy, correct: fixed.exactCorrect, meanSteps: fixed.meanSteps },
      adaptive: { exact: adaptive.exactAccuracy, correct: adaptive.exactCorrect, meanSteps: adaptive.meanSteps },
      seconds: (Date.now() - start) / 1000,
    };
    if (values.json) { console.log(JSON.stringify(summary, null, 2)); return; }
    console.log(`${grids} full grids; ${puzzles.length} puzzles with 10 blanks and a unique solution; scored ${examples.length}${offset ? `, starting at index ${offset}` : ''}`);
    if (fixed) console.log(`fixed ${model.config.halt_max_steps} steps: exact ${percent(fixed.exactCorrect, examples.length)} (${fixed.exactCorrect}/${examples.length})`);
    console.log(`adaptive p(halt) > 0.5: exact ${percent(adaptive.exactCorrect, examples.length)} (${adaptive.exactCorrect}/${examples.length}), mean ${adaptive.meanSteps.toFixed(2)} steps`);
    if (values.failures !== undefined) printFailures(adaptive, examples, Number(values.failures));
  } finally {
    model.dispose();
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
