/**
 * The task registry, train/test splits that share no input, and the suggested configs
 * (each must be a config the library accepts, with the task's seq_len and vocab).
 */
import { describe, expect, it } from 'vitest';
import { OptionError, TASK_NAMES, exampleKey, generateTrainTest, getTask, parseConfig } from '../../lib/index';
import { expectThrows } from '../helpers/errors';

describe('getTask', () => {
  it('knows the four tasks and names them in its error', () => {
    expect([...TASK_NAMES]).toEqual(['sudoku4', 'sudoku9', 'maze', 'compliance']);
    for (const name of TASK_NAMES) expect(getTask(name).name).toBe(name);
    const caught = expectThrows(() => getTask('sudoku16'), OptionError, 'task');
    expect(caught.message).toMatch(/sudoku4, sudoku9, maze, compliance/);
  });

  it('sizes the maze, and only the maze', () => {
    expect(getTask('maze').seqLen).toBe(121);
    expect(getTask('maze', { size: 13 }).seqLen).toBe(169);
    expect(() => getTask('sudoku9', { size: 9 })).toThrow(OptionError);
    expect(() => getTask('maze', { side: 9 } as never)).toThrow(/side/);
  });

  it('suggests configs the library accepts, matching the task', () => {
    for (const name of TASK_NAMES) {
      const task = getTask(name);
      const config = parseConfig(task.suggestedConfig(), `<${name}>`);
      expect([config.seq_len, config.vocab_size, config.num_puzzle_identifiers]).toEqual([task.seqLen, task.vocabSize, task.numPuzzleIdentifiers]);
      expect(config.task).toBe(name);
    }
  });
});

describe('train/test split', () => {
  for (const name of TASK_NAMES) {
    it(`${name}: test shares no input with train, and train is the plain generate() result`, () => {
      const task = getTask(name, name === 'maze' ? { size: 7 } : {});
      // Small spaces make collisions likely if the split did not prevent them: 7x7 mazes and 4x4 Sudokus with few blanks.
      const options = name === 'sudoku4' ? { minBlanks: 2, maxBlanks: 3 } : {};
      const { train, test } = generateTrainTest(task, { train: 200, test: 100 }, 3, options);
      expect(train.length).toBe(200);
      expect(test.length).toBe(100);
      const trainKeys = new Set(train.map((e) => exampleKey(e.inputs)));
      expect(trainKeys.size).toBe(200);
      expect(test.filter((e) => trainKeys.has(exampleKey(e.inputs)))).toEqual([]);
      expect(new Set(test.map((e) => exampleKey(e.inputs))).size).toBe(100);
      expect(train.map((e) => exampleKey(e.inputs))).toEqual(task.generate(200, 3, options).map((e) => exampleKey(e.inputs)));
    });
  }

  it('exclude keeps a separately generated set apart, even from the same seed', () => {
    const task = getTask('sudoku4');
    const train = task.generate(300, 1, { minBlanks: 2, maxBlanks: 3 });
    const exclude = new Set(train.map((e) => exampleKey(e.inputs)));
    const sameSeed = task.generate(100, 1, { minBlanks: 2, maxBlanks: 3, exclude });
    expect(sameSeed.some((e) => exclude.has(exampleKey(e.inputs)))).toBe(false);
    // Without exclude, the same seed repeats the training set: the check above is not vacuous.
    expect(task.generate(100, 1, { minBlanks: 2, maxBlanks: 3 }).every((e) => exclude.has(exampleKey(e.inputs)))).toBe(true);
  });

  it('rejects negative counts', () => {
    expect(() => generateTrainTest(getTask('compliance'), { train: -1, test: 5 }, 1)).toThrow(OptionError);
  });
});
