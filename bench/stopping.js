#!/usr/bin/env node
// What the stopping rules save: on each shipped trained model, held-out examples answered
// under fixed steps, haltThreshold 0.5, confidenceThreshold 0.85, stableSteps 2 and all three
// together, with the median time per answer, the mean ACT steps, and both as a ratio to
// fixed steps measured in the same run (the time should fall about as the steps do, since
// stopped samples leave the batch). Before anything is timed, every adaptive answer is
// checked against the fixed run's trace: the same stopping step as replayStopping reads off
// it (away from a threshold by more than 1e-4) and the same predictions at that step.
//   node bench/stopping.js [--count N] [--batch B] [--threads T] [--repeats R]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  loadModel, evaluateModel, heldOutSet, readTrainDataDescription, replayStopping, taskForModel, TASK_NAMES,
} = require('../dist');
const { normalizeOptions } = require('../dist/request');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const count = flag('count', 256);
const batch = flag('batch', 64);
const threads = flag('threads', 1);
const repeats = flag('repeats', 5);

const POLICIES = [
  { label: 'fixed steps', options: { haltThreshold: null } },
  { label: 'haltThreshold 0.5', options: { haltThreshold: 0.5 } },
  { label: 'confidenceThreshold 0.85', options: { haltThreshold: null, confidenceThreshold: 0.85 } },
  { label: 'stableSteps 2', options: { haltThreshold: null, stableSteps: 2 } },
  { label: 'all three', options: { haltThreshold: 0.5, confidenceThreshold: 0.85, stableSteps: 2 } },
];

/** The adaptive answers are the fixed run's at the replayed stopping step (samples never interact). */
function validate(model, fixed, run, options) {
  const { seq_len: S, vocab_size: V } = model.config;
  const policy = normalizeOptions(options, model.config);
  let skipped = 0;
  for (let b = 0; b < run.steps.length; b++) {
    const stop = replayStopping(fixed.trace, b, policy);
    let close = false;
    for (let s = 0; s < stop.step; s++) {
      const rec = fixed.trace[s];
      if (policy.haltThreshold !== null && Math.abs(rec.haltProbability[b] - policy.haltThreshold) < 1e-4) close = true;
      if (policy.confidenceThreshold !== null && Math.abs(rec.confidence[b] - policy.confidenceThreshold) < 1e-4) close = true;
    }
    if (close) { skipped++; continue; }  // a decision within rounding of its threshold: either step is right
    if (run.steps[b] !== stop.step) throw new Error(`sample ${b}: stopped at ${run.steps[b]}, the fixed trace says ${stop.step} (${stop.reason})`);
    const logits = fixed.trace[stop.step - 1].logits.subarray(b * S * V, (b + 1) * S * V);
    for (let t = 0; t < S; t++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
      if (run.predictions[b * S + t] !== best) throw new Error(`sample ${b}: prediction at ${t} differs from the fixed run's step ${stop.step}`);
    }
  }
  return skipped;
}

async function main() {
  const root = path.join(__dirname, '..', 'models');
  const machine = { cpu: os.cpus()[0].model.trim(), cores: os.cpus().length, node: process.version, date: new Date().toISOString(), threads };
  console.log(`${machine.cpu}, ${machine.cores} cores, ${threads} thread(s), batch ${batch}, ${count} held-out examples per model, median of ${repeats} passes`);
  console.log('(on a shared machine: compare the ratios within one model, measured side by side)\n');
  for (const name of fs.readdirSync(root).sort()) {
    const dir = path.join(root, name);
    const configFile = path.join(dir, 'config.json');
    if (!fs.existsSync(configFile) || !TASK_NAMES.includes(JSON.parse(fs.readFileSync(configFile, 'utf8')).task)) continue;
    const model = await loadModel(dir, { threads });
    const task = taskForModel(model.config);
    const { examples } = heldOutSet(task, count, { training: readTrainDataDescription(model.config, configFile) });
    const S = model.config.seq_len;
    // Validation on the first batch: the fixed run's trace against each policy's answers.
    const first = examples.slice(0, batch);
    const inputs = new Int32Array(first.length * S);
    first.forEach((e, i) => inputs.set(e.inputs, i * S));
    const puzzleIdentifiers = first.map((e) => e.puzzleIdentifier);
    const fixedTrace = model.inferSync({ inputs, puzzleIdentifiers }, { haltThreshold: null, trace: 'logits' });
    let skipped = 0;
    for (const p of POLICIES.slice(1)) skipped += validate(model, fixedTrace, model.inferSync({ inputs, puzzleIdentifiers }, p.options), p.options);

    console.log(`${name}: ${model.config.halt_max_steps} steps at most, H_cycles ${model.config.H_cycles} x L_cycles ${model.config.L_cycles}` +
      ` (validated on ${first.length} examples${skipped > 0 ? `, ${skipped} decisions within 1e-4 of a threshold not checked` : ''})`);
    console.log(`${'policy'.padEnd(26)}${'exact'.padStart(8)}${'mean steps'.padStart(12)}${'ms/answer'.padStart(11)}${'steps ratio'.padStart(13)}${'time ratio'.padStart(12)}`);
    let base;
    for (const p of POLICIES) {
      const run = await evaluateModel(model, examples, { ...p.options, batch, repeats });
      base ??= run;
      console.log(`${p.label.padEnd(26)}${(100 * run.exactAccuracy).toFixed(1).padStart(7)}%${run.meanSteps.toFixed(2).padStart(12)}` +
        `${run.msPerAnswer.toFixed(3).padStart(11)}${(run.meanSteps / base.meanSteps).toFixed(2).padStart(13)}${(run.msPerAnswer / base.msPerAnswer).toFixed(2).padStart(12)}`);
    }
    console.log('');
    model.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
