/** `trm generate`: a task's generated examples written as a JSONL dataset (docs/tasks.md). */
import * as path from 'node:path';
import { OptionError } from '../errors';
import { readJsonlDataset, writeJsonlDataset } from '../data/jsonl';
import { exampleKey, getTask } from '../tasks';
import { readLabelledJsonl } from '../codecs/dataset';
import { DATASET_NAMES, generateDataset, inputKey, writeLabelledJsonl } from '../datagen';
import { Command, intFlag, msSince, stringFlag } from './common';

/** Generator flags and the library option each becomes. */
const GENERATOR_FLAGS: Array<[string, string]> = [
  ['min-blanks', 'minBlanks'], ['max-blanks', 'maxBlanks'], ['min-path', 'minPathLength'], ['loop-percent', 'loopPercent'],
  ['min-clauses', 'minClauses'], ['max-clauses', 'maxClauses'],
];

export const generateCommand: Command = {
  usage: `  trm generate (--task NAME | --dataset NAME) --count N --out FILE.jsonl [options]
                                    write a generated dataset as JSONL (docs/tasks.md)
    --task NAME      sudoku4 | sudoku9 | maze | compliance: token examples
    --dataset NAME   ${DATASET_NAMES.join(' | ')}: labelled records or texts for a codec model (docs/own-data.md)
    --split S        intents: train (default) | heldout (phrasings and slot values training never has)
    --seed N         seed (default 1): the same seed gives the same file
    --exclude FILE   a JSONL file whose inputs must not appear (e.g. the training set, for a test set)
    --min-blanks N, --max-blanks N    Sudoku: blank cells per puzzle
    --size N                          maze: side of the grid (seq_len N*N, default 11)
    --min-path N, --loop-percent P    maze: shortest path length at least N; P% extra walls removed
    --min-clauses N, --max-clauses N  compliance: clauses per example (1-4)`,
  flags: {
    task: { type: 'string' }, dataset: { type: 'string' }, split: { type: 'string' }, count: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, exclude: { type: 'string' },
    size: { type: 'string' }, ...Object.fromEntries(GENERATOR_FLAGS.map(([flag]) => [flag, { type: 'string' as const }])),
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(_positionals, values) {
    const taskName = stringFlag(values, 'task');
    const datasetName = stringFlag(values, 'dataset');
    if ((taskName === undefined) === (datasetName === undefined)) {
      throw new OptionError('generate needs a task or a dataset', { field: taskName === undefined ? '--task' : '--dataset', expected: `--task (sudoku4, sudoku9, maze or compliance) or --dataset (${DATASET_NAMES.join(', ')}), not both` });
    }
    const outFlag = stringFlag(values, 'out');
    if (outFlag === undefined) throw new OptionError('generate needs an output file', { field: '--out', value: undefined, expected: 'a path ending in .jsonl' });
    const count = intFlag(values, 'count', 0);
    if (count === undefined) throw new OptionError('generate needs a count', { field: '--count', value: undefined, expected: 'an integer >= 0' });
    if (datasetName !== undefined) {
      for (const flag of ['size', ...GENERATOR_FLAGS.map(([f]) => f)]) {
        if (values[flag] !== undefined) throw new OptionError('task options need --task', { field: `--${flag}`, value: values[flag], expected: 'no task option with --dataset' });
      }
      const excludeFile = stringFlag(values, 'exclude');
      const exclude = excludeFile === undefined ? undefined : new Set(readLabelledJsonl(excludeFile, false).map(inputKey));
      const seed = intFlag(values, 'seed') ?? 1;
      const examples = generateDataset(datasetName, count, seed, { split: stringFlag(values, 'split'), exclude });
      const out = path.resolve(outFlag);
      writeLabelledJsonl(out, examples);
      console.log(`${out}: ${examples.length} ${datasetName} examples (seed ${seed}${values.split ? `, split ${values.split}` : ''})`);
      if (examples.length > 0) console.log(`first example: ${JSON.stringify(examples[0])}`);
      return;
    }
    if (values.split !== undefined) throw new OptionError('--split is a dataset option', { field: '--split', value: values.split, expected: 'no --split with --task' });
    const size = intFlag(values, 'size');
    const task = getTask(taskName!, size === undefined ? {} : { size });
    // Only the flags given become options, so a flag the task does not take is an error there, not ignored.
    const options: Record<string, unknown> = {};
    for (const [flag, key] of GENERATOR_FLAGS) {
      const v = intFlag(values, flag);
      if (v !== undefined) options[key] = v;
    }
    const excludeFile = stringFlag(values, 'exclude');
    if (excludeFile !== undefined) {
      const excluded = readJsonlDataset(excludeFile, { seqLen: task.seqLen, vocabSize: task.vocabSize });
      options.exclude = new Set(excluded.map((e) => exampleKey(e.inputs)));
    }
    const seed = intFlag(values, 'seed') ?? 1;
    const start = process.hrtime.bigint();
    let examples;
    try {
      examples = task.generate(count, seed, options);
    } catch (e) {
      // Name the flag the user typed rather than the library option behind it.
      const flag = GENERATOR_FLAGS.find(([, key]) => e instanceof OptionError && e.field === key);
      if (e instanceof OptionError && flag) throw new OptionError(e.message.split(';')[0], { field: `--${flag[0]}`, value: e.value, expected: e.expected });
      throw e;
    }
    const ms = msSince(start);
    const out = path.resolve(outFlag);
    writeJsonlDataset(out, examples);
    console.log(`${out}: ${examples.length} ${task.name} examples (seq_len ${task.seqLen}, vocab ${task.vocabSize}, seed ${seed}) in ${ms.toFixed(0)} ms`);
    if (examples.length > 0) console.log(`first example:\n${task.format(examples[0].inputs)}\nlabels:\n${task.format(examples[0].inputs, examples[0].labels)}`);
  },
};
