'use strict';
// How npm run bench times its calls: several variants taking turns, so that their ratios
// hold on a host whose speed drifts (a shared cloud machine: 30-40% between minutes, seen
// here). A variant may block (native inferSync) or return a promise (the ONNX backend).

function median(xs) {
  const sorted = xs.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ONNX Runtime's intra-op threads spin after each Run: on AMD EPYC family 26 (Zen 5, 2
// cores) one core stayed busy for about 40 ms after a Sudoku-size step. A native call started
// inside that time shared its two cores with the spinner: 90-94 ms for a step that took
// 68.5 ms after an idle gap (sudoku-mlp_t, batch 1, 2 threads), while ONNX's own step was the
// same either way (87.3 ms after 50 ms idle, 87.8 right after a native call). In rounds that
// rotate a fixed order, one variant follows ONNX in almost every round, so that variant's
// time carried the spin. Every call therefore starts on a quiet process: before it, wait
// until this process (every thread of it: the main thread is asleep in the wait) has used
// under QUIET_SHARE of a core over a QUIET_WINDOW_MS window, for QUIET_MAX_MS at most.
const QUIET_WINDOW_MS = 5;
const QUIET_SHARE = 0.1;
const QUIET_MAX_MS = 500;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function untilQuiet() {
  const started = Date.now();
  let before = process.cpuUsage();
  let wallBefore = process.hrtime.bigint();
  while (Date.now() - started < QUIET_MAX_MS) {
    await sleep(QUIET_WINDOW_MS);
    const now = process.cpuUsage(before);
    const wallNow = process.hrtime.bigint();
    const cpuMs = (now.user + now.system) / 1e3;
    const wallMs = Number(wallNow - wallBefore) / 1e6;
    if (cpuMs < QUIET_SHARE * wallMs) return;
    before = process.cpuUsage();
    wallBefore = wallNow;
  }
}

/**
 * Times every variant in rounds: each round calls each variant once, in an order that
 * rotates from round to round, until `maxTime` seconds of timed calls a variant are spent
 * and at least `minSamples` rounds are done (after one untimed call each: first-call
 * allocations). Each call starts on a quiet process (untilQuiet, above); the waits are not
 * counted in the budget. Returns each variant's median time in seconds with its sample
 * count, and `ratio(a, b)`: the median over the rounds of a's time / b's time in the same
 * round. A ratio of medians taken minutes apart carries the host's drift between them;
 * within a round the variants run seconds apart at most.
 * @param {Record<string, () => unknown | Promise<unknown>>} variants
 * @param {{ maxTime?: number, minSamples?: number }} options
 */
async function measureInterleaved(variants, { maxTime = 2, minSamples = 3 } = {}) {
  const names = Object.keys(variants);
  if (names.length === 0) throw new Error('measureInterleaved: no variants');
  for (const name of names) await variants[name]();
  const times = Object.fromEntries(names.map((name) => [name, []]));
  const budget = maxTime * names.length;
  let spent = 0;
  for (let round = 0; round < minSamples || spent < budget; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      await untilQuiet();
      const t0 = process.hrtime.bigint();
      await variants[name]();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      times[name].push(seconds);
      spent += seconds;
    }
  }
  const cells = Object.fromEntries(names.map((name) => [name, { median: median(times[name]), samples: times[name].length }]));
  const ratio = (a, b) => median(times[a].map((t, round) => t / times[b][round]));
  return { cells, ratio };
}

module.exports = { measureInterleaved };
