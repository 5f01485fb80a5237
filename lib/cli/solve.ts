/**
 * `trm solve DIR`: one puzzle, typed, read from a file or drawn from the held-out set,
 * solved by the model with adaptive halting; prints the answer, the steps it took, the
 * halting probability, and whether the answer is right when that can be known.
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
import { Command, LOAD_FLAGS, intFlag, loadOptions, numberFlag, stringFlag } from './common';
import { referenceAnswer } from './reference';
import { DEFAULT_THRESHOLD } from './eval';

export const solveCommand: Command = {
  usage: `  trm solve DIR (--input TEXT | --file FILE | --random) [options]
                                    solve one puzzle and print the answer
    --input TEXT     the puzzle as text (Sudoku "1.3.4..2...", a maze drawing, "door min_width 80 85; ...")
    --file FILE      the puzzle text from a file
    --random         a puzzle from the held-out set (--seed S, default ${EVAL_SEED}; the first one)
    --task NAME      the task (default: the "task" key of DIR/config.json)
    --threshold T    adaptive halting threshold (default ${DEFAULT_THRESHOLD}); --steps N: max ACT steps`,
  loadsModel: true,
  flags: {
    ...LOAD_FLAGS, input: { type: 'string' }, file: { type: 'string' }, random: { type: 'boolean' }, seed: { type: 'string' },
    task: { type: 'string' }, threshold: { type: 'string' }, steps: { type: 'string' },
  },
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const sources = ['input', 'file', 'random'].filter((k) => values[k] !== undefined);
    if (sources.length !== 1) {
      const expected = 'exactly one of --input TEXT, --file FILE, --random';
      if (sources.length === 0) throw new OptionError('solve needs a puzzle', { field: '--input', expected });
      throw new OptionError('solve takes one puzzle', { field: sources.map((k) => `--${k}`).join(', '), expected });
    }
    if (values.seed !== undefined && !values.random) throw new OptionError('--seed picks the --random puzzle', { field: '--seed', value: values.seed, expected: '--random' });
    const threshold = numberFlag(values, 'threshold', 0, 1) ?? DEFAULT_THRESHOLD;
    const maxSteps = intFlag(values, 'steps', 1);
    const model = await loadModel(dir, loadOptions(values));
    try {
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

      const r = await model.infer({ inputs: [inputs] }, { haltThreshold: threshold, maxSteps, trace: true });
      const steps = r.steps[0];
      const last = r.trace![steps - 1];
      // At the step limit a sample stops either way; it halted when p(halt) crossed the threshold there too.
      const halted = last.haltProbability[0] > threshold
        ? `halted: p(halt) ${last.haltProbability[0].toFixed(3)} > ${threshold}`
        : `ran to the step limit; p(halt) ${last.haltProbability[0].toFixed(3)}`;
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
