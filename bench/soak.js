#!/usr/bin/env node
'use strict';
// The soak test: N minutes (default 30) of what a service does to the library at once, with
// the process's RSS sampled every few seconds. Passes when RSS after warm-up grows by less
// than 5% and every answer equals its reference bit for bit.
//   - infer: concurrent async calls (and some inferSync) on two long-lived models, random
//     batch sizes, each answer checked against the same samples run at load;
//   - load/dispose: a shipped model loaded, asked once, disposed, sometimes while a call is
//     still in flight;
//   - worker churn: worker_threads that load their own model and infer in a loop, terminated
//     at a random moment mid-call and replaced.
//   node bench/soak.js [--minutes 30] [--sample-seconds 5] [--warmup-minutes M] [--out FILE]
// Needs `npm run build` (it uses dist/). Run it niced on a shared machine:
//   nice -n 10 node bench/soak.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const ROOT = path.resolve(__dirname, '..');
const MODELS = ['sudoku-4x4', 'maze', 'compliance', 'sudoku-9x9'].map((m) => path.join(ROOT, 'models', m));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

function tokensFor(config, batch, seed) {
  return Int32Array.from({ length: batch * config.seq_len }, (_, i) => ((i + seed) * 2654435761 >>> 7) % config.vocab_size);
}

function sameBytes(a, b) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

if (!isMainThread) {
  // A pool worker: its own model, one call always in flight, until terminated.
  const { loadModel } = require(path.join(ROOT, 'dist'));
  (async () => {
    const model = await loadModel(workerData.dir, { threads: 1 });
    const inputs = tokensFor(model.config, workerData.batch, 7);
    parentPort.postMessage('ready');
    for (;;) await model.infer({ inputs });
  })().catch((e) => parentPort.postMessage(`error: ${e.stack ?? e}`));
  return;
}

const { loadModel } = require(path.join(ROOT, 'dist'));
const minutes = Number(arg('minutes', '30'));
const sampleSeconds = Number(arg('sample-seconds', '5'));
const warmupMinutes = Number(arg('warmup-minutes', String(Math.min(5, Math.max(0.5, minutes * 0.15)))));
const outFile = arg('out', undefined);
const deadline = Date.now() + minutes * 60_000;
const started = Date.now();
const counts = { infer: 0, inferSync: 0, loads: 0, disposedInFlight: 0, workers: 0, mismatches: 0, errors: 0 };
const errors = [];
const samples = [];
const running = () => Date.now() < deadline;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fail(where, e) {
  counts.errors++;
  if (errors.length < 20) errors.push(`${where}: ${e && e.stack ? e.stack : e}`);
}

// One row of reference answers per model: sample s of any batch must equal sample s alone.
async function withReference(dir) {
  const model = await loadModel(dir, { threads: 1 });
  const batchMax = 8;
  const inputs = tokensFor(model.config, batchMax, 1);
  const full = model.inferSync({ inputs });
  const perSample = model.config.seq_len * model.config.vocab_size;
  return { model, inputs, full, perSample, batchMax };
}

function check(ref, result, batch) {
  const expected = ref.full.logits.subarray(0, batch * ref.perSample);
  if (!sameBytes(result.logits, expected)) counts.mismatches++;
}

async function inferLoop(ref, seed) {
  let i = seed;
  while (running()) {
    const batch = 1 + (i++ % ref.batchMax);
    const inputs = ref.inputs.subarray(0, batch * ref.model.config.seq_len);
    try {
      if (i % 7 === 0) {
        check(ref, ref.model.inferSync({ inputs }), batch);
        counts.inferSync++;
      } else {
        check(ref, await ref.model.infer({ inputs }), batch);
        counts.infer++;
      }
    } catch (e) {
      fail('infer', e);
    }
    await sleep(2);
  }
}

async function loadDisposeLoop() {
  let i = 0;
  while (running()) {
    const dir = MODELS[i++ % MODELS.length];
    try {
      const model = await loadModel(dir, { threads: 1 });
      const inputs = tokensFor(model.config, 2, i);
      if (i % 3 === 0) {
        // dispose while a call is in flight: the call must still answer
        const pending = model.infer({ inputs });
        model.dispose();
        await pending;
        counts.disposedInFlight++;
      } else {
        await model.infer({ inputs });
        model.dispose();
      }
      counts.loads++;
    } catch (e) {
      fail('load/dispose', e);
    }
    await sleep(20);
  }
}

async function workerLoop(slot) {
  let i = slot;
  while (running()) {
    const dir = MODELS[i++ % 3];
    const worker = new Worker(__filename, { workerData: { dir, batch: 1 + (i % 4) } });
    try {
      const first = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      if (first !== 'ready') throw new Error(first);
      await sleep(20 + ((i * 37) % 300));
    } catch (e) {
      fail('worker', e);
    }
    await worker.terminate();
    counts.workers++;
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const refs = [await withReference(MODELS[0]), await withReference(MODELS[3])];
  const sampler = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({ t: (Date.now() - started) / 1000, rss, heapUsed });
    const last = samples[samples.length - 1];
    if (samples.length % 12 === 1) {
      console.log(`[${last.t.toFixed(0).padStart(5)} s] rss ${(rss / 2 ** 20).toFixed(1)} MiB, heap ${(heapUsed / 2 ** 20).toFixed(1)} MiB, ${JSON.stringify(counts)}`);
    }
  }, sampleSeconds * 1000);
  await Promise.all([
    inferLoop(refs[0], 0), inferLoop(refs[0], 3), inferLoop(refs[1], 1), loadDisposeLoop(), workerLoop(0), workerLoop(1),
  ]);
  clearInterval(sampler);

  const afterWarmup = samples.filter((s) => s.t >= warmupMinutes * 60);
  const window = Math.max(1, Math.min(12, Math.floor(afterWarmup.length / 4)));
  const start = median(afterWarmup.slice(0, window).map((s) => s.rss));
  const end = median(afterWarmup.slice(-window).map((s) => s.rss));
  const growth = (end - start) / start;
  const pass = growth < 0.05 && counts.mismatches === 0 && counts.errors === 0;
  const report = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    minutes, warmupMinutes, sampleSeconds,
    rssStartMiB: +(start / 2 ** 20).toFixed(1), rssEndMiB: +(end / 2 ** 20).toFixed(1), growthPercent: +(growth * 100).toFixed(2),
    rssMaxMiB: +(Math.max(...afterWarmup.map((s) => s.rss)) / 2 ** 20).toFixed(1),
    counts, errors, pass, samples,
  };
  console.log(`soak: ${minutes} min, RSS after ${warmupMinutes} min warm-up ${report.rssStartMiB} MiB, at the end ${report.rssEndMiB} MiB `
    + `(max ${report.rssMaxMiB}), growth ${report.growthPercent}% (bound 5%); ${JSON.stringify(counts)}; ${pass ? 'PASS' : 'FAIL'}`);
  for (const e of errors) console.log(`  ${e}`);
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
  for (const ref of refs) ref.model.dispose();
  process.exitCode = pass ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
