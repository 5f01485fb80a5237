'use strict';
// How npm run bench times its calls: several variants taking turns, so that their ratios
// hold on a host whose speed drifts (a shared cloud machine: 30-40% between minutes, seen
// here). A variant may block (native inferSync) or return a promise (the ONNX backend).

function median(xs) {
  const sorted = xs.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times every variant in rounds: each round calls each variant once, in an order that
 * rotates from round to round, until `maxTime` seconds a variant are spent and at least
 * `minSamples` rounds are done (after one untimed call each: first-call allocations).
 * Returns each variant's median time in seconds with its sample count, and
 * `ratio(a, b)`: the median over the rounds of a's time / b's time in the same round. A
 * ratio of medians taken minutes apart carries the host's drift between them; within a
 * round the variants run seconds apart at most.
 * @param {Record<string, () => unknown | Promise<unknown>>} variants
 * @param {{ maxTime?: number, minSamples?: number }} options
 */
async function measureInterleaved(variants, { maxTime = 2, minSamples = 3 } = {}) {
  const names = Object.keys(variants);
  if (names.length === 0) throw new Error('measureInterleaved: no variants');
  for (const name of names) await variants[name]();
  const times = Object.fromEntries(names.map((name) => [name, []]));
  const started = process.hrtime.bigint();
  const budgetNs = BigInt(Math.round(maxTime * names.length * 1e9));
  for (let round = 0; round < minSamples || process.hrtime.bigint() - started < budgetNs; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      const t0 = process.hrtime.bigint();
      await variants[name]();
      times[name].push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  const cells = Object.fromEntries(names.map((name) => [name, { median: median(times[name]), samples: times[name].length }]));
  const ratio = (a, b) => median(times[a].map((t, round) => t / times[b][round]));
  return { cells, ratio };
}

module.exports = { measureInterleaved };
