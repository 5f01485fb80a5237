/**
 * `trm demo [DIR]`: what a TRM does, in well under a minute. One held-out puzzle solved step
 * by step (the board after each ACT step with its changes highlighted, the halting
 * probability and confidence, the step where adaptive halting stops), a few more puzzles,
 * accuracy on a held-out batch, and native vs ONNX time per answer on that batch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EvalRun, evaluateModel, labelledConfidence } from '../evaluate';
import { createModel, createOnnxModel, loadModel } from '../index';
import { replayStopping } from '../halting';
import { parseConfig } from '../model/config';
import { CONFIG_FILE } from '../model/directory';
import { randomWeights } from '../model/random';
import { taskForModel } from '../model-task';
import { getTask } from '../tasks';
import { EVAL_SEED, heldOutSet, readTrainDataDescription } from '../tasks/splits';
import { Example, IGNORE_LABEL, Task } from '../tasks/task';
import type { TrmModel } from '../trm-model';
import type { LoadOptions } from '../types';
import { Command, intFlag, loadOptions, msSince, numberFlag, stringFlag } from './common';
import { DEFAULT_THRESHOLD } from './eval';
import { Palette, colorEnabled, highlightChanges, outputWidth, palette, percent, sideBySide } from './render';

/** The model `trm demo` shows without a DIR: resolved from the package, not the working directory. */
export const DEFAULT_DEMO_DIR = path.resolve(__dirname, '..', '..', 'models', 'sudoku-4x4');
/**
 * The model whose refinement `trm demo` shows without a DIR: most answers of the 4x4 model
 * are final at step 1, while this one's answer visibly forms over steps. The rest of the demo
 * (more puzzles, accuracy, timing) stays on the 4x4 model, which answers in a few ms.
 */
export const DEFAULT_REFINEMENT_DIR = path.resolve(__dirname, '..', '..', 'models', 'sudoku-9x9');
export const DEFAULT_DEMO_COUNT = 64;
/** Held-out puzzles searched for one whose answer changes after step 1 (the step-by-step part). */
const REFINEMENT_CANDIDATES = 8;
/** Puzzles shown answer by answer after the step-by-step one. */
const MORE_PUZZLES = 3;
/** Timed passes of the native vs ONNX comparison (the median is reported). */
const TIMING_REPEATS = 3;
/** Below this exact accuracy the demo says the model looks untrained rather than let the numbers speak alone. */
const UNTRAINED_ACCURACY = 0.05;

/** Where the model comes from: a directory, or (when the default one is missing) random weights in memory. */
interface ModelSource {
  label: string;
  configFile?: string;
  native(options: LoadOptions): Promise<TrmModel>;
  onnx(options: LoadOptions): Promise<TrmModel>;
}

function directorySource(dir: string): ModelSource {
  return {
    label: dir, configFile: path.join(dir, CONFIG_FILE),
    native: (options) => loadModel(dir, options),
    onnx: (options) => loadModel(dir, { threads: options.threads, backend: 'onnx' }),
  };
}

/** An untrained sudoku4 model of the suggested shape: the pipeline runs, the answers are noise. */
function untrainedSource(): ModelSource {
  const config = parseConfig(getTask('sudoku4').suggestedConfig(), '<sudoku4 suggestedConfig>');
  const weights = randomWeights(config, { seed: 1 });
  return {
    label: 'an untrained sudoku4 model (random weights)',
    native: async (options) => createModel(config, weights, options),
    onnx: (options) => createOnnxModel(config, weights, { threads: options.threads }),
  };
}

function pickSource(dirFlag: string | undefined): ModelSource {
  if (dirFlag !== undefined) return directorySource(path.resolve(dirFlag));
  if (fs.existsSync(path.join(DEFAULT_DEMO_DIR, CONFIG_FILE))) return directorySource(DEFAULT_DEMO_DIR);
  console.log(`note: no trained model at ${DEFAULT_DEMO_DIR} (it comes from training a sudoku4 model there);`);
  console.log('      showing an untrained model of the same shape instead, so expect wrong answers. `trm demo DIR` picks a model.\n');
  return untrainedSource();
}

/** argmax per position of one sample's logits. */
function argmaxTokens(logits: Float32Array, offset: number, seqLen: number, vocab: number): Int32Array {
  const out = new Int32Array(seqLen);
  for (let t = 0; t < seqLen; t++) {
    const row = offset + t * vocab;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[row + v] > logits[row + best]) best = v;
    out[t] = best;
  }
  return out;
}

function labelledCount(labels: Int32Array): number {
  return labels.reduce((n, label) => n + (label === IGNORE_LABEL ? 0 : 1), 0);
}

function rightPositions(predictions: Int32Array, labels: Int32Array, offset = 0): { right: number; labelled: number } {
  let right = 0, labelled = 0;
  labels.forEach((label, t) => {
    if (label === IGNORE_LABEL) return;
    labelled++;
    if (predictions[offset + t] === label) right++;
  });
  return { right, labelled };
}

/** Grids highlight cell by cell; the compliance answers are words. */
function highlightUnit(task: Task): 'char' | 'word' {
  return task.name === 'compliance' ? 'word' : 'char';
}

/**
 * The puzzle the step-by-step part shows: the first of `candidates` whose answer at step 1 is
 * wrong and is right where adaptive halting stops (refinement that works); else the first whose
 * answer changes after step 1; else the first. One batched call with every step's logits.
 */
async function refiningExample(model: TrmModel, candidates: Example[], threshold: number): Promise<{ example: Example; index: number; why: string }> {
  const { seq_len: seqLen, vocab_size: vocab, halt_max_steps: maxSteps } = model.config;
  const r = await model.infer({ inputs: candidates.map((e) => e.inputs), puzzleIdentifiers: candidates.map((e) => e.puzzleIdentifier) }, { haltThreshold: null, trace: 'logits' });
  const policy = { maxSteps, minSteps: 1, haltThreshold: threshold, confidenceThreshold: null, stableSteps: null };
  const stepRight = (b: number, step: number) => {
    const { right, labelled } = rightPositions(argmaxTokens(r.trace![step - 1].logits!, b * seqLen * vocab, seqLen, vocab), candidates[b].labels);
    return right === labelled;
  };
  let changing = -1;
  for (let b = 0; b < candidates.length; b++) {
    const haltStep = replayStopping(r.trace!, b, policy)!.step;
    if (!stepRight(b, 1) && stepRight(b, haltStep)) return { example: candidates[b], index: b, why: 'wrong at step 1 and right where adaptive halting stops' };
    if (changing < 0 && r.trace!.slice(1).some((rec) => rec.changed[b] > 0)) changing = b;
  }
  if (changing >= 0) return { example: candidates[changing], index: changing, why: 'its answer changes after step 1' };
  return { example: candidates[0], index: 0, why: 'none of them changes its answer after step 1' };
}

/** The step-by-step part: one puzzle run for every step, the table, and the boards up to where adaptive halting stops. */
async function showRefinement(model: TrmModel, task: Task, example: Example, threshold: number, colors: Palette, width: number): Promise<void> {
  const { seq_len: seqLen, vocab_size: vocab, halt_max_steps: maxSteps } = model.config;
  // Fixed steps show every step; halting runs each sample alone, so the step adaptive
  // halting would stop at is read off this trace with the same rule.
  const r = await model.infer({ inputs: [example.inputs], puzzleIdentifiers: [example.puzzleIdentifier] }, { haltThreshold: null, trace: 'logits' });
  const policy = { maxSteps, minSteps: 1, haltThreshold: threshold, confidenceThreshold: null, stableSteps: null };
  const haltStep = replayStopping(r.trace!, 0, policy)!.step;

  console.log(`${colors.bold('How the answer refines')} (every step run; adaptive halting stops at the first step with p(halt) > ${threshold}):`);
  console.log('step  changed  p(halt)  confidence  right');
  const boards: Array<{ title: string; text: string }> = [{ title: 'puzzle', text: task.format(example.inputs) }];
  let previousText = task.format(example.inputs);
  for (const rec of r.trace!) {
    const predictions = argmaxTokens(rec.logits!, 0, seqLen, vocab);
    const { right, labelled } = rightPositions(predictions, example.labels);
    const confidence = labelledConfidence(rec.logits!, 0, example.labels, vocab);
    const marker = rec.step === haltStep ? `  <- halts here${haltStep === maxSteps && rec.haltProbability[0] <= threshold ? ' (step limit)' : ''}` : '';
    const line = `${String(rec.step).padStart(4)}  ${String(rec.changed[0]).padStart(7)}  ${rec.haltProbability[0].toFixed(3).padStart(7)}  ${confidence.toFixed(3).padStart(10)}  ${`${right}/${labelled}`.padStart(5)}${marker}`;
    console.log(rec.step > haltStep ? colors.dim(line) : line);
    const text = task.format(example.inputs, predictions);
    if (rec.step <= haltStep) boards.push({ title: `step ${rec.step}`, text: highlightChanges(previousText, text, colors.changed, highlightUnit(task)) });
    previousText = text;
  }
  boards.push({ title: 'solution', text: task.format(example.inputs, example.labels) });
  console.log(`(changed: positions whose prediction differs from the step before, at step 1 from the puzzle; confidence: mean max softmax probability over the ${labelledCount(example.labels)} answer positions; right: answer positions right)\n`);
  console.log(sideBySide(boards, width));
  const final = rightPositions(argmaxTokens(r.trace![haltStep - 1].logits!, 0, seqLen, vocab), example.labels);
  const verdict = final.right === final.labelled ? colors.good('right') : colors.bad(`wrong (${final.labelled - final.right} of ${final.labelled} answer positions)`);
  console.log(`\nAnswer at step ${haltStep}, where adaptive halting stops: ${verdict}.\n`);
}

/**
 * The step-by-step part on the refinement model (DEFAULT_REFINEMENT_DIR). Its held-out
 * puzzles are disjoint from its training set by seed only: regenerating 10,000 9x9 training
 * puzzles to exclude them would take seconds, and a repeat is vanishingly unlikely there.
 */
async function showOtherRefinement(dir: string, seed: number, options: LoadOptions, threshold: number, colors: Palette, width: number): Promise<void> {
  const model = await loadModel(dir, options);
  try {
    const c = model.config;
    const task = taskForModel(c, undefined, path.join(dir, CONFIG_FILE));
    const training = readTrainDataDescription(c, path.join(dir, CONFIG_FILE));
    const { examples } = heldOutSet(task, REFINEMENT_CANDIDATES, { seed, options: training?.options });
    const picked = await refiningExample(model, examples, threshold);
    console.log(`Refinement is shown on ${dir} (task ${task.name}; hidden ${c.hidden_size}, H_cycles ${c.H_cycles} x L_cycles ${c.L_cycles} per step, up to ${c.halt_max_steps} ACT steps): `
      + 'most answers of the 4x4 model are final at step 1, this one\'s form over several steps.');
    console.log(`(held-out puzzle ${picked.index + 1} of ${examples.length}, seed ${seed}: the first that is ${picked.why}; the rest of the demo is the 4x4 model)\n`);
    await showRefinement(model, task, picked.example, threshold, colors, width);
  } finally {
    model.dispose();
  }
}

/** A few more held-out puzzles with the answers of the adaptive batch run: wrong positions painted. */
function showMorePuzzles(task: Task, examples: Example[], run: EvalRun, colors: Palette, width: number): void {
  const seqLen = task.seqLen;
  const blocks: Array<{ title: string; text: string }> = [];
  for (let i = 1; i <= Math.min(MORE_PUZZLES, examples.length - 1); i++) {
    const example = examples[i];
    const predictions = run.predictions.subarray(i * seqLen, (i + 1) * seqLen);
    const right = task.isCorrect(predictions, example);
    // Each puzzle beside its answer, as one block, so a wide task keeps the two together.
    const pair = sideBySide([
      { title: `puzzle ${i + 1}`, text: task.format(example.inputs) },
      {
        title: `${right ? colors.good('right') : colors.bad('wrong')}, ${run.steps[i]} step(s)`,
        text: highlightChanges(task.format(example.inputs, example.labels), task.format(example.inputs, predictions), colors.wrong, highlightUnit(task)),
      },
    ], width, 2);
    const [title, ...lines] = pair.split('\n');
    blocks.push({ title, text: lines.join('\n') });
  }
  if (blocks.length === 0) return;
  console.log(`${colors.bold('More held-out puzzles')} (adaptive halting; wrong answer positions highlighted):`);
  console.log(sideBySide(blocks, width, 5));
  console.log('');
}

function accuracyLine(label: string, run: EvalRun): string {
  return `  ${label.padEnd(24)} exact ${percent(run.exactAccuracy).padStart(6)} (${run.exactCorrect}/${run.count})  tokens ${percent(run.tokenAccuracy).padStart(6)}  mean steps ${run.meanSteps.toFixed(2).padStart(5)}  ${run.msPerAnswer.toFixed(3)} ms/answer`;
}

/** Native vs ONNX on the batch, fixed steps (the same work on both); a one-line note when ONNX does not load. */
async function compareOnnx(source: ModelSource, options: LoadOptions, examples: Example[], native: EvalRun, batch: number, untrained: boolean): Promise<void> {
  let onnx: TrmModel;
  try {
    onnx = await source.onnx(options);
  } catch (e) {
    console.log(`native vs ONNX: skipped, the onnx backend did not load (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  try {
    const run = await evaluateModel(onnx, examples, { haltThreshold: null, batch, repeats: TIMING_REPEATS });
    const seqLen = onnx.config.seq_len;
    let same = 0;
    for (let i = 0; i < examples.length; i++) {
      let k = i * seqLen;
      while (k < (i + 1) * seqLen && native.predictions[k] === run.predictions[k]) k++;
      if (k === (i + 1) * seqLen) same++;
    }
    const ratio = run.msPerAnswer / native.msPerAnswer;
    console.log(`native vs ONNX (${examples.length} puzzles, ${native.maxSteps} steps each, median of ${TIMING_REPEATS} runs): native ${native.msPerAnswer.toFixed(3)} ms/answer, `
      + `onnxruntime ${run.msPerAnswer.toFixed(3)} ms/answer (${ratio >= 1 ? `native ${ratio.toFixed(2)}x as fast` : `onnx ${(1 / ratio).toFixed(2)}x as fast`}); `
      + `same answers on ${same}/${examples.length}${same < examples.length && untrained ? ' (random weights amplify float32 rounding differences from step to step)' : ''}`);
  } finally {
    onnx.dispose();
  }
}

export const demoCommand: Command = {
  usage: `  trm demo [DIR] [options]          a model solving held-out puzzles step by step, its accuracy and speed
                                    (DIR default: the package's models/sudoku-4x4)
    --count N        held-out puzzles in the accuracy batch (default ${DEFAULT_DEMO_COUNT})
    --seed S         seed of the held-out puzzles (default ${EVAL_SEED})
    --no-onnx        skip the native vs ONNX timing
    --task NAME, --threshold T, --threads N   as for eval`,
  flags: {
    count: { type: 'string' }, seed: { type: 'string' }, 'no-onnx': { type: 'boolean' }, task: { type: 'string' }, threshold: { type: 'string' }, threads: { type: 'string' },
  },
  positionals: { min: 0, max: 1, names: '[DIR]' },
  async run([dirFlag], values) {
    const start = process.hrtime.bigint();
    const count = intFlag(values, 'count', 1) ?? DEFAULT_DEMO_COUNT;
    const seed = intFlag(values, 'seed', 0) ?? EVAL_SEED;
    const threshold = numberFlag(values, 'threshold', 0, 1) ?? DEFAULT_THRESHOLD;
    const options = loadOptions(values);
    const colors = palette(colorEnabled());
    const width = outputWidth();

    const source = pickSource(dirFlag);
    // Loading first makes a bad directory a ModelFormatError; the parsed config keeps our keys (task, train_data).
    const model = await source.native(options);
    try {
      const c = model.config;
      const task = taskForModel(c, stringFlag(values, 'task'), source.configFile);
      const training = task.name === c.task ? readTrainDataDescription(c, source.configFile) : undefined;
      // The puzzles shown are the first of the batch, so every one of them is held out and scored.
      const { examples } = heldOutSet(task, count, { seed, training });
      console.log(`${colors.bold('trm demo')}: ${source.label}`);
      console.log(`task ${task.name}; hidden ${c.hidden_size}, ${c.L_layers} layers, H_cycles ${c.H_cycles} x L_cycles ${c.L_cycles} per step, up to ${c.halt_max_steps} ACT steps; `
        + `${model.info.backend} backend (${model.info.isa}, ${model.info.threads} thread(s))`);
      console.log(`held-out puzzles: seed ${seed}${training ? `, the training set (${training.count}, seed ${training.seed}) excluded` : ' (disjoint from training by seed)'}\n`);

      if (dirFlag === undefined && source.configFile !== undefined && fs.existsSync(path.join(DEFAULT_REFINEMENT_DIR, CONFIG_FILE))) {
        await showOtherRefinement(DEFAULT_REFINEMENT_DIR, seed, options, threshold, colors, width);
      } else {
        const candidates = examples.slice(0, REFINEMENT_CANDIDATES);
        const picked = await refiningExample(model, candidates, threshold);
        console.log(`(puzzle ${picked.index + 1} of the first ${candidates.length}: the first that is ${picked.why})`);
        await showRefinement(model, task, picked.example, threshold, colors, width);
      }
      const batch = 64;
      const adaptive = await evaluateModel(model, examples, { haltThreshold: threshold, batch });
      showMorePuzzles(task, examples, adaptive, colors, width);
      // The fixed-step timing is the one compared with ONNX: the median of a few passes, as the machine may be busy.
      const fixed = await evaluateModel(model, examples, { haltThreshold: null, batch, repeats: TIMING_REPEATS });
      console.log(`${colors.bold('Accuracy')} on ${examples.length} held-out puzzles (exact: whole answer right; tokens: answer positions right):`);
      console.log(accuracyLine(`adaptive, p(halt) > ${threshold}`, adaptive));
      console.log(accuracyLine(`fixed ${fixed.maxSteps} steps (official)`, fixed));
      const untrained = Math.max(adaptive.exactAccuracy, fixed.exactAccuracy) < UNTRAINED_ACCURACY;
      if (untrained) {
        console.log(colors.bad(`  untrained: almost no answer is right (under ${percent(UNTRAINED_ACCURACY)}); this model has not learned ${task.name}`));
      }
      console.log('');
      if (values['no-onnx']) console.log('native vs ONNX: skipped (--no-onnx)');
      else await compareOnnx(source, options, examples, fixed, batch, untrained);
    } finally {
      model.dispose();
    }
    console.log(`\ndemo took ${(msSince(start) / 1000).toFixed(1)} s`);
  },
};
