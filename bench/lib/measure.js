'use strict';
// benchmark.js, driven the same way for a blocking call (native inferSync) and a promise
// (the ONNX backend's async infer): returns the median and the samples it took.
const Benchmark = require('benchmark');

/**
 * @param {string} name
 * @param {() => unknown | Promise<unknown>} fn
 * @param {{ async?: boolean, maxTime?: number, minSamples?: number }} options
 */
function measure(name, fn, { async = false, maxTime = 2, minSamples = 3 } = {}) {
  return new Promise((resolve, reject) => {
    const bench = async
      ? new Benchmark(name, { defer: true, fn: (deferred) => Promise.resolve(fn()).then(() => deferred.resolve(), reject), maxTime, minSamples })
      : new Benchmark(name, fn, { maxTime, minSamples });
    bench.on('complete', () => {
      if (bench.error) return reject(bench.error);
      const sorted = bench.stats.sample.slice().sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      resolve({ median, samples: sorted.length, rme: bench.stats.rme });
    });
    bench.on('error', (event) => reject(event.target.error));
    bench.run({ async: true });
  });
}

module.exports = { measure };
