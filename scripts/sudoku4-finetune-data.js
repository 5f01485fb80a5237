#!/usr/bin/env node
// Writes the fine-tuning set that took models/sudoku-4x4 from 51 missed hardest puzzles to
// none (its card, "The hardest puzzles"): the model's own training puzzles (the sudoku4 task's
// 20,000 at seed 0, 10 blanks, as config.json's train_data says) each through V random
// Sudoku symmetries, plus every puzzle the model got wrong, K times each and as it is.
// The misses go in untransformed on purpose: the model solves almost every symmetric variant
// of a puzzle it misses (17 wrong of 10,200 variants of the 51), so a random symmetry would
// train it on what it already does. Needs the built dist/.
//
//   node scripts/sudoku4-hardest.js models/sudoku-4x4 --adaptive-only --failures 1000000 > misses.txt
//   node scripts/sudoku4-finetune-data.js OUT.jsonl --variants V --repeat K misses.txt [more.txt ...]
//
// Each misses file holds sudoku4-hardest.js's "wrong: puzzle P solution S answer A" lines; a
// puzzle listed twice counts once. Deterministic: the same files give the same OUT.jsonl.
'use strict';
const fs = require('node:fs');
const { parseArgs } = require('node:util');
const lib = require('../dist/index.js');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { variants: { type: 'string' }, repeat: { type: 'string' } } });
const [out, ...missFiles] = positionals;
const variants = Number(values.variants ?? 5), repeat = Number(values.repeat ?? 40);
if (!out || missFiles.length === 0 || !(variants >= 1) || !(repeat >= 1)) {
  console.error('usage: node scripts/sudoku4-finetune-data.js OUT.jsonl [--variants V] [--repeat K] misses.txt [...]');
  process.exit(2);
}

const tokens = (cells) => Int32Array.from(cells, (c) => (c === '.' ? 1 : Number(c) + 1));
const seen = new Set();
const misses = [];
for (const file of missFiles) {
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^wrong: puzzle ([.1-4]{16}) solution ([1-4]{16}) /.exec(line);
    if (!m || seen.has(m[1])) continue;
    seen.add(m[1]);
    misses.push({ inputs: tokens(m[1]), labels: tokens(m[2]), puzzleIdentifier: 0 });
  }
}
const task = lib.getTask('sudoku4');
const rng = new lib.SeededRandom(777);
const training = task.generate(20000, 0, { minBlanks: 10, maxBlanks: 10 });
const examples = [];
for (const e of training) for (let v = 0; v < variants; v++) examples.push(task.augment(e, rng));
for (const e of misses) for (let k = 0; k < repeat; k++) examples.push(e);
lib.writeJsonlDataset(out, examples);
console.log(`${out}: ${training.length} training puzzles x ${variants} symmetries + ${misses.length} missed puzzles x ${repeat} = ${examples.length} examples`);
