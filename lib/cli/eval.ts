/**
 * `trm eval DIR`: accuracy of a model on held-out examples of its task, under fixed steps
 * (the official eval: every example runs halt_max_steps), under adaptive halting, and under
 * each other stopping rule asked for (--confidence, --stable-steps) alone and all together.
 */
import * as path from 'node:path';
import { readJsonlDataset } from '../data/jsonl';
import { EvalRun, evaluateModel } from '../evaluate';
import { loadModel } from '../index';
import { CONFIG_FILE } from '../model/directory';
import { taskForModel } from '../model-task';
import { EVAL_SEED, heldOutSet, readTrainDataDescription } from '../tasks/splits';
import type { Example, Task } from '../tasks/task';
import type { TrmModel } from '../trm-model';
import { Command, FlagValues, LOAD_FLAGS, STOP_FLAGS, intFlag, loadOptions, msSince, numberFlag, stopOptions, stringFlag } from './common';
import { OptionError } from '../errors';
import type { Codec } from '../codecs/codec';
import { describeNotes, encodeDataset, readLabelledJsonl } from '../codecs/dataset';
import { constrainedPredictions, slotAccuracy } from '../codecs/predict';
import type { InferResult } from '../types';
import { percent } from './render';

/** Enough for a first number on every task in minutes on 2 cores (a 9x9 Sudoku model of the suggested size takes ~0.4 s per answer); --count raises it. */
export const DEFAULT_EVAL_COUNT = 200;
export const DEFAULT_THRESHOLD = 0.5;

/** Where the examples came from, as `--json` reports it. */
export type EvalData =
  | { source: 'generated'; seed: number; count: number; options: Record<string, unknown>; excludedTraining: number; generationMs: number }
  | { source: 'file'; file: string; count: number };

export interface HeldOutExamples {
  task: Task;
  examples: Example[];
  data: EvalData;
  /** Lines for people about how held-out the examples are. */
  notes: string[];
}

/**
 * The examples to score: the first `count` of a JSONL file, or `count` generated held-out
 * examples (lib/tasks/splits.ts: seed EVAL_SEED by default, the training set excluded when
 * the config describes it).
 */
export function evalExamples(model: TrmModel, dir: string, values: { task?: string; data?: string; count?: number; seed?: number }, defaultCount: number): HeldOutExamples {
  const configFile = path.join(path.resolve(dir), CONFIG_FILE);
  const task = taskForModel(model.config, values.task, configFile);
  const notes: string[] = [];
  if (values.data !== undefined) {
    const all = readJsonlDataset(values.data, {
      seqLen: model.config.seq_len, vocabSize: model.config.vocab_size, numPuzzleIdentifiers: model.config.num_puzzle_identifiers,
    });
    const examples = values.count === undefined ? all : all.slice(0, values.count);
    return { task, examples, data: { source: 'file', file: path.resolve(values.data), count: examples.length }, notes };
  }
  const seed = values.seed ?? EVAL_SEED;
  if (seed < EVAL_SEED) notes.push(`seed ${seed} is below ${EVAL_SEED}, in the range training seeds come from: these examples may have been trained on`);
  // The description is of the training set of the config's own task; an overriding --task has none.
  const training = task.name === model.config.task ? readTrainDataDescription(model.config, configFile) : undefined;
  const start = process.hrtime.bigint();
  const held = heldOutSet(task, values.count ?? defaultCount, { seed, training });
  const generationMs = msSince(start);
  if (training) notes.push(`training set (${training.count} examples, seed ${training.seed}) regenerated and excluded`);
  else notes.push('config.json does not describe the training set (train_data), so the held-out set is disjoint by seed only; small tasks can overlap');
  return {
    task,
    examples: held.examples,
    data: { source: 'generated', seed, count: held.examples.length, options: held.options, excludedTraining: held.excludedTraining, generationMs },
    notes,
  };
}

/** An EvalRun without its per-example arrays: what --json prints. */
export function runSummary(run: EvalRun): Omit<EvalRun, 'predictions' | 'steps'> {
  const { predictions: _p, steps: _s, ...summary } = run;
  return summary;
}

/** One row of the eval table: its label, its key in --json, and the rules it runs. */
interface EvalRow {
  label: string;
  key: string;
  rules: { haltThreshold: number | null; confidenceThreshold?: number; stableSteps?: number };
}

/** Fixed steps, halting, then each other rule given alone, then every given rule together. */
export function evalRows(threshold: number, confidence: number | undefined, stableSteps: number | undefined, maxSteps: number): EvalRow[] {
  const rows: EvalRow[] = [
    { label: `fixed ${maxSteps} steps`, key: 'fixed', rules: { haltThreshold: null } },
    { label: `adaptive p(halt)>${threshold}`, key: 'adaptive', rules: { haltThreshold: threshold } },
  ];
  if (confidence !== undefined) rows.push({ label: `confidence>=${confidence}`, key: 'confidence', rules: { haltThreshold: null, confidenceThreshold: confidence } });
  if (stableSteps !== undefined) rows.push({ label: `stable ${stableSteps} step(s)`, key: 'stable', rules: { haltThreshold: null, stableSteps } });
  if (confidence !== undefined || stableSteps !== undefined) {
    rows.push({ label: 'all of these rules', key: 'combined', rules: { haltThreshold: threshold, confidenceThreshold: confidence, stableSteps } });
  }
  return rows;
}

/** "halt 120, maxSteps 80": the rules that stopped a run's examples. */
export function stoppedBySummary(run: EvalRun): string {
  return Object.entries(run.stoppedBy).filter(([, n]) => n > 0).map(([rule, n]) => `${rule} ${n}`).join(', ');
}

export const evalCommand: Command = {
  usage: `  trm eval DIR [options]            accuracy on held-out examples, fixed steps and adaptive stopping
    --task NAME      the task (default: the "task" key of DIR/config.json)
    --data FILE      score the examples of a JSONL file instead of generated ones (a codec model:
                     labelled records or texts, scored on their labels; the only source)
    --count N        examples (default ${DEFAULT_EVAL_COUNT}; with --data: the first N)
    --seed S         seed of the generated held-out set (default ${EVAL_SEED}; training seeds are below it)
    --threshold T    adaptive halting threshold on sigmoid(q_halt) (default ${DEFAULT_THRESHOLD})
    --confidence C, --stable-steps K: a row for each rule alone, and one for them all with --threshold
    --h-cycles N, --l-cycles N: every row at that recursion depth
    --batch B        examples per inference call (default 64)
    --json           print one JSON object instead of the table`,
  loadsModel: true,
  stopping: true,
  flags: {
    ...LOAD_FLAGS, ...STOP_FLAGS, task: { type: 'string' }, data: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' },
    threshold: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const threshold = numberFlag(values, 'threshold', 0, 1) ?? DEFAULT_THRESHOLD;
    const batch = intFlag(values, 'batch', 1);
    const count = intFlag(values, 'count', 1);
    const { confidenceThreshold, stableSteps, hCycles, lCycles } = stopOptions(values);
    const model = await loadModel(dir, loadOptions(values));
    try {
      if (model.codec) {
        await evalCodecModel(model, model.codec, dir, values, { threshold, batch, count });
        return;
      }
      const { task, examples, data, notes } = evalExamples(model, dir, {
        task: stringFlag(values, 'task'), data: stringFlag(values, 'data'), count, seed: intFlag(values, 'seed', 0),
      }, DEFAULT_EVAL_COUNT);
      const rows = evalRows(threshold, confidenceThreshold ?? undefined, stableSteps ?? undefined, model.config.halt_max_steps);
      const runs: EvalRun[] = [];
      for (const row of rows) runs.push(await evaluateModel(model, examples, { ...row.rules, hCycles, lCycles, batch }));
      const [fixed] = runs;
      const info = model.info;
      if (values.json) {
        console.log(JSON.stringify({
          model: path.resolve(dir),
          task: task.name,
          backend: info.backend, isa: info.isa, threads: info.threads, precision: info.precision,
          haltMaxSteps: model.config.halt_max_steps,
          hCycles: fixed.hCycles,
          lCycles: fixed.lCycles,
          data,
          ...Object.fromEntries(rows.map((row, i) => [row.key, runSummary(runs[i])])),
          notes,
        }, null, 2));
        return;
      }
      console.log(`${dir}: task ${task.name}, ${info.backend} backend (${info.isa}, ${info.threads} thread(s), ${info.precision})`);
      console.log(data.source === 'file'
        ? `examples: the first ${data.count} of ${data.file}`
        : `examples: ${data.count} generated held-out ${task.name} examples, seed ${data.seed} (${data.generationMs.toFixed(0)} ms to generate)`);
      for (const note of notes) console.log(`  note: ${note}`);
      if (hCycles !== undefined || lCycles !== undefined) {
        console.log(`  note: every row runs H_cycles ${fixed.hCycles} x L_cycles ${fixed.lCycles}, off the training setting (${model.config.H_cycles} x ${model.config.L_cycles})`);
      }
      console.log('');
      const header = `${''.padEnd(24)}${'exact'.padStart(8)}${'tokens'.padStart(9)}${'mean steps'.padStart(12)}${'ms/answer'.padStart(11)}  stopped by`;
      console.log(header);
      rows.forEach((row, i) => {
        const r = runs[i];
        console.log(`${row.label.padEnd(24)}${percent(r.exactAccuracy).padStart(8)}${percent(r.tokenAccuracy).padStart(9)}${r.meanSteps.toFixed(2).padStart(12)}${r.msPerAnswer.toFixed(3).padStart(11)}  ${stoppedBySummary(r)}`);
      });
      console.log(`\nexact: whole answer right (${rows.map((row, i) => `${row.key} ${runs[i].exactCorrect}`).join(', ')} of ${fixed.count}); tokens: labelled positions right (of ${fixed.labelledTokens})`);
    } finally {
      model.dispose();
    }
  },
};

/** `trm eval` of a codec model: labelled records or texts from --data, scored on their labels (each slot's argmax over its allowed tokens). */
async function evalCodecModel(model: TrmModel, codec: Codec, dir: string, values: FlagValues, o: { threshold: number; batch?: number; count?: number }): Promise<void> {
  const file = stringFlag(values, 'data');
  if (file === undefined) throw new OptionError('a codec model is scored on labelled data', { field: '--data', value: undefined, expected: 'a JSONL file of {"input", "label"} lines' });
  for (const flag of ['task', 'seed']) {
    if (values[flag] !== undefined) throw new OptionError(`--${flag} picks generated examples, which a codec model does not have`, { field: `--${flag}`, value: values[flag], expected: '--data FILE only' });
  }
  const records = readLabelledJsonl(file);
  const encoded = encodeDataset(codec, o.count === undefined ? records : records.slice(0, o.count), file);
  const examples = encoded.examples;
  const decode = (r: InferResult) => constrainedPredictions(codec, r);
  const fixed = await evaluateModel(model, examples, { haltThreshold: null, batch: o.batch, decode });
  const adaptive = await evaluateModel(model, examples, { haltThreshold: o.threshold, batch: o.batch, decode });
  const labels = examples.map((e) => e.labels);
  const perSlot = { fixed: slotAccuracy(codec, fixed.predictions, labels), adaptive: slotAccuracy(codec, adaptive.predictions, labels) };
  const notes = describeNotes(encoded.notes);
  const info = model.info;
  if (values.json) {
    console.log(JSON.stringify({
      model: path.resolve(dir), codec: codec.kind, backend: info.backend, isa: info.isa, threads: info.threads, precision: info.precision,
      haltMaxSteps: model.config.halt_max_steps, data: { source: 'file', file: path.resolve(file), count: examples.length },
      fixed: { ...runSummary(fixed), slots: perSlot.fixed }, adaptive: { ...runSummary(adaptive), slots: perSlot.adaptive }, notes,
    }, null, 2));
    return;
  }
  console.log(`${dir}: ${codec.kind} codec, labels ${codec.labels.slots.map((s) => s.name).join(', ')}; ${info.backend} backend (${info.isa}, ${info.threads} thread(s), ${info.precision})`);
  console.log(`examples: the first ${examples.length} of ${path.resolve(file)}`);
  for (const note of notes) console.log(`  note: ${note}`);
  console.log('');
  const slotNames = codec.labels.slots.map((s) => s.name);
  console.log(`${''.padEnd(22)}${'exact'.padStart(8)}${slotNames.map((n) => n.slice(-14).padStart(16)).join('')}${'mean steps'.padStart(12)}${'ms/answer'.padStart(11)}`);
  const row = (label: string, r: EvalRun, slots: Array<{ accuracy: number }>) => console.log(
    `${label.padEnd(22)}${percent(r.exactAccuracy).padStart(8)}${slots.map((s) => percent(s.accuracy).padStart(16)).join('')}${r.meanSteps.toFixed(2).padStart(12)}${r.msPerAnswer.toFixed(3).padStart(11)}`);
  row(`fixed ${fixed.maxSteps} steps`, fixed, perSlot.fixed);
  row(`adaptive p(halt)>${o.threshold}`, adaptive, perSlot.adaptive);
  console.log(`\nexact: every label right (fixed ${fixed.exactCorrect}, adaptive ${adaptive.exactCorrect} of ${fixed.count}); per label: that slot right`);
}
