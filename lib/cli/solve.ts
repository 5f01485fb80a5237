/**
 * `trm solve DIR`: one puzzle, typed, read from a file or drawn from the held-out set,
 * solved by the model with adaptive halting (and any other stopping rule asked for); prints
 * the answer, the steps it took and the rule that stopped it, the halting probability, and
 * whether the answer is right when that can be known.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, OptionError } from '../errors';
import { labelledConfidence } from '../evaluate';
import { loadModel } from '../index';
import { CONFIG_FILE } from '../model/directory';
import { taskForModel } from '../model-task';
import { EVAL_SEED, heldOutExample } from '../tasks/splits';
import { IGNORE_LABEL } from '../tasks/task';
import { Command, FlagValues, LOAD_FLAGS, STOP_FLAGS, intFlag, loadOptions, numberFlag, stopOptions, stringFlag } from './common';
import { formatTrace } from '../codecs/predict';
import type { TrmModel } from '../trm-model';
import { referenceAnswer } from './reference';
import { DEFAULT_THRESHOLD } from './eval';

export const solveCommand: Command = {
  usage: `  trm solve DIR (--input TEXT | --file FILE | --random | --json RECORD | --text TEXT) [options]
                                    solve one puzzle, or label one record or text, and print the answer
    --input TEXT     the puzzle as text (Sudoku "1.3.4..2...", a maze drawing, "door min_width 80 85; ...")
    --file FILE      the puzzle text from a file (a codec model: the record as JSON, or the text)
    --json RECORD    a record for a record-codec model, e.g. '{"element_features": {"type": "door"}, ...}'
    --text TEXT      a text for a text-codec model; both print the label, its probability and each step's answer
    --random         a puzzle from the held-out set (--seed S, default ${EVAL_SEED}; the first one)
    --task NAME      the task (default: the "task" key of DIR/config.json)
    --threshold T    adaptive halting threshold (default ${DEFAULT_THRESHOLD}); --steps N: max ACT steps
    --confidence C, --stable-steps K: stop also by these rules; --h-cycles N, --l-cycles N: the depth`,
  loadsModel: true,
  stopping: true,
  flags: {
    ...LOAD_FLAGS, ...STOP_FLAGS, input: { type: 'string' }, file: { type: 'string' }, random: { type: 'boolean' }, seed: { type: 'string' },
    json: { type: 'string' }, text: { type: 'string' },
    task: { type: 'string' }, threshold: { type: 'string' }, steps: { type: 'string' },
  },
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const sources = ['input', 'file', 'random', 'json', 'text'].filter((k) => values[k] !== undefined);
    if (sources.length !== 1) {
      const expected = 'exactly one of --input TEXT, --file FILE, --random (a task model) or --json RECORD, --text TEXT, --file FILE (a codec model)';
      if (sources.length === 0) throw new OptionError('solve needs a puzzle', { field: '--input', expected });
      throw new OptionError('solve takes one puzzle', { field: sources.map((k) => `--${k}`).join(', '), expected });
    }
    if (values.seed !== undefined && !values.random) throw new OptionError('--seed picks the --random puzzle', { field: '--seed', value: values.seed, expected: '--random' });
    const threshold = numberFlag(values, 'threshold', 0, 1) ?? DEFAULT_THRESHOLD;
    const maxSteps = intFlag(values, 'steps', 1);
    const stopping = stopOptions(values);
    const model = await loadModel(dir, loadOptions(values));
    try {
      if (model.codec || values.json !== undefined || values.text !== undefined) {
        await solveCodecInput(model, values, { threshold, maxSteps });
        return;
      }
      const task = taskForModel(model.config, stringFlag(values, 'task'), path.join(path.resolve(dir), CONFIG_FILE));
      let inputs: Int32Array;
      let labels: Int32Array | undefined;
      let referenceNote: string | undefined;
      if (values.random) {
        const seed = intFlag(values, 'seed', 0) ?? EVAL_SEED;
        // Drawn with the training set's generator options (its difficulty, its clause count), so
        // the puzzle is of the kind the model was trained on.
        ({ inputs, labels } = heldOutExample(task, model.config, seed, path.join(path.resolve(dir), CONFIG_FILE)));
        console.log(`a held-out ${task.name} puzzle (seed ${seed}):`);
      } else {
        const text = values.file !== undefined ? readPuzzleFile(stringFlag(values, 'file')!) : stringFlag(values, 'input')!;
        if (!task.parse) throw new OptionError(`task ${task.name} has no text form`, { field: '--task', value: task.name, expected: 'a task with parse()' });
        inputs = task.parse(text);
        // A puzzle with no answer is refused here, before the model is asked for one.
        ({ labels, note: referenceNote } = referenceAnswer(task, inputs));
        console.log(`${task.name} puzzle:`);
      }
      console.log(task.format(inputs));

      const r = await model.infer({ inputs: [inputs] }, { ...stopping, haltThreshold: threshold, maxSteps, trace: true });
      const steps = r.steps[0];
      const last = r.trace![steps - 1];
      const halted = {
        halt: `halted: p(halt) ${last.haltProbability[0].toFixed(3)} > ${threshold}`,
        confidence: `stopped by confidence ${last.confidence[0].toFixed(3)} >= ${stopping.confidenceThreshold}`,
        stable: `stopped: predictions unchanged for ${stopping.stableSteps} step(s)`,
        maxSteps: `ran to the step limit; p(halt) ${last.haltProbability[0].toFixed(3)}`,
      }[r.stoppedBy[0]];
      console.log(`\nanswer after ${steps} step(s) (${halted}):`);
      console.log(task.format(inputs, r.predictions));
      const confidence = labels
        ? `${labelledConfidence(r.logits, 0, labels, r.vocabSize).toFixed(3)} (mean max softmax probability over the answer positions)`
        : `${last.confidence[0].toFixed(3)} (mean max softmax probability over all positions)`;
      console.log(`\nsteps: ${steps}; halting probability: ${last.haltProbability[0].toFixed(3)}; confidence: ${confidence}`);
      if (labels) {
        let labelled = 0, wrong = 0;
        labels.forEach((label, t) => {
          if (label === IGNORE_LABEL) return;
          labelled++;
          if (r.predictions[t] !== label) wrong++;
        });
        console.log(wrong === 0 ? 'check: right' : `check: wrong (${wrong} of ${labelled} answer positions differ from the right answer)`);
      } else if (referenceNote) {
        console.log(`check: none (${referenceNote})`);
      }
    } finally {
      model.dispose();
    }
  },
};

function readPuzzleFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read the puzzle file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { field: '--file', value: file, expected: 'a readable text file' });
  }
}

/** One record or text through a codec model: the label, its probability, and the answer at every step. */
async function solveCodecInput(model: TrmModel, values: FlagValues, o: { threshold: number; maxSteps?: number }): Promise<void> {
  const codec = model.codec;
  const given = ['json', 'text', 'file'].find((k) => values[k] !== undefined) ?? 'input';
  if (!codec) throw new OptionError(`--${given} needs a codec model`, { field: `--${given}`, expected: 'a model directory with codec.json (trm train on records or texts writes one)' });
  const expected = codec.kind === 'record' ? '--json RECORD or --file FILE (a JSON record)' : '--text TEXT or --file FILE';
  if (values.input !== undefined || values.random || values.seed !== undefined || values.task !== undefined || (codec.kind === 'record' ? values.text : values.json) !== undefined) {
    throw new OptionError(`a ${codec.kind}-codec model takes ${expected}`, { field: `--${given}`, expected });
  }
  let input: unknown = values.file !== undefined ? readPuzzleFile(stringFlag(values, 'file')!) : stringFlag(values, codec.kind === 'record' ? 'json' : 'text');
  if (codec.kind === 'record') {
    try {
      input = JSON.parse(input as string);
    } catch (e) {
      throw new InputError(`the record is not valid JSON (${(e as Error).message})`, { field: `--${given}`, value: input, expected: 'a JSON object' });
    }
  } else if (values.file !== undefined) {
    input = (input as string).replace(/\r?\n$/, '');
  }
  const [p] = await model.predict([input], { haltThreshold: o.threshold, maxSteps: o.maxSteps, trace: true });
  console.log(`input: ${JSON.stringify(input)}`);
  for (const note of p.notes) console.log(`  note: ${note.message}`);
  console.log('');
  for (const line of formatTrace(p)) console.log(line);
  const halted = p.haltProbability > o.threshold ? `halted: p(halt) ${p.haltProbability.toFixed(3)} > ${o.threshold}` : `ran to the step limit; p(halt) ${p.haltProbability.toFixed(3)}`;
  console.log(`\nlabel after ${p.steps} step(s) (${halted}): ${JSON.stringify(p.label)}`);
  console.log(`probability: ${p.probability.toFixed(3)}${p.slots.length > 1 ? ` (the product of ${p.slots.map((s) => `${s.name} ${s.probability.toFixed(3)}`).join(', ')})` : ''}`);
}
