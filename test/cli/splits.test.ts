/**
 * Held-out sets (lib/tasks/splits.ts): the seed convention, the training set regenerated
 * and kept out, the config's description of it; and reading a model's task from its config.
 */
import { describe, expect, it } from 'vitest';
import {
  EVAL_SEED, ModelFormatError, OptionError, checkTrainingSeed, exampleKey, getTask, heldOutSet, parseConfig, readTrainDataDescription, taskForModel,
} from '../../lib';

describe('held-out sets', () => {
  it('are the generator run at EVAL_SEED by default, the same on every call', () => {
    const task = getTask('sudoku4');
    const held = heldOutSet(task, 30);
    expect(held.seed).toBe(EVAL_SEED);
    expect(held.excludedTraining).toBe(0);
    expect(held.examples.map((e) => exampleKey(e.inputs))).toEqual(task.generate(30, EVAL_SEED).map((e) => exampleKey(e.inputs)));
  });

  it('keep out a described training set, which seeds alone do not', () => {
    // 7x7 mazes are few: 200 held-out mazes from another seed share some with 500 training mazes.
    const task = getTask('maze', { size: 7 });
    const training = { seed: 1, count: 500 };
    const trainKeys = new Set(task.generate(training.count, training.seed).map((e) => exampleKey(e.inputs)));
    const bySeedOnly = heldOutSet(task, 200).examples.filter((e) => trainKeys.has(exampleKey(e.inputs)));
    expect(bySeedOnly.length).toBeGreaterThan(0);
    const held = heldOutSet(task, 200, { training });
    expect(held.excludedTraining).toBe(trainKeys.size);
    expect(held.examples).toHaveLength(200);
    expect(held.examples.filter((e) => trainKeys.has(exampleKey(e.inputs)))).toEqual([]);
  });

  it("use the training set's generator options, so the difficulty matches", () => {
    const task = getTask('sudoku4');
    const held = heldOutSet(task, 20, { training: { seed: 3, count: 50, options: { minBlanks: 11, maxBlanks: 11 } } });
    expect(held.options).toEqual({ minBlanks: 11, maxBlanks: 11 });
    for (const e of held.examples) expect(e.inputs.filter((t) => t === 1).length).toBe(11);
  });

  it('refuse a held-out seed equal to the training seed', () => {
    expect(() => heldOutSet(getTask('sudoku4'), 5, { seed: 7, training: { seed: 7, count: 5 } })).toThrow(OptionError);
  });

  it('training seeds stay below EVAL_SEED', () => {
    expect(checkTrainingSeed(0)).toBe(0);
    expect(checkTrainingSeed(EVAL_SEED - 1)).toBe(EVAL_SEED - 1);
    expect(() => checkTrainingSeed(EVAL_SEED)).toThrow(/training seeds/);
    expect(() => checkTrainingSeed(-1)).toThrow(OptionError);
    expect(() => checkTrainingSeed(1.5)).toThrow(OptionError);
  });
});

describe('readTrainDataDescription', () => {
  it('reads train_data, absent is undefined', () => {
    expect(readTrainDataDescription({})).toBeUndefined();
    expect(readTrainDataDescription({ train_data: { seed: 1, count: 10, options: { minBlanks: 6 } } })).toEqual({ seed: 1, count: 10, options: { minBlanks: 6 } });
  });

  it('names the bad field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [5, /field: train_data;/],
      [{ count: 10 }, /field: train_data\.seed/],
      [{ seed: 1, count: -1 }, /field: train_data\.count/],
      [{ seed: 1, count: 1, options: [] }, /field: train_data\.options/],
      [{ seed: 1, count: 1, options: { exclude: [] } }, /field: train_data\.options/],
    ];
    for (const [value, pattern] of cases) {
      expect(() => readTrainDataDescription({ train_data: value }, 'config.json')).toThrow(ModelFormatError);
      expect(() => readTrainDataDescription({ train_data: value }, 'config.json')).toThrow(pattern);
    }
  });
});

describe('taskForModel', () => {
  const sudoku4 = parseConfig(getTask('sudoku4').suggestedConfig());

  it('reads the task key, and an override wins', () => {
    expect(taskForModel(sudoku4).name).toBe('sudoku4');
    const { task: _, ...noTask } = sudoku4;
    expect(taskForModel(parseConfig(noTask), 'sudoku4').name).toBe('sudoku4');
  });

  it('sizes mazes from task_params, maze_size or seq_len', () => {
    const base = { ...getTask('maze', { size: 9 }).suggestedConfig() } as Record<string, unknown>;
    delete base.maze_size;
    expect((taskForModel(parseConfig({ ...base, task_params: { size: 9 } })) as unknown as { size: number }).size).toBe(9);
    expect((taskForModel(parseConfig({ ...base, maze_size: 9 })) as unknown as { size: number }).size).toBe(9);
    expect((taskForModel(parseConfig(base)) as unknown as { size: number }).size).toBe(9);
  });

  it('says what is missing or does not fit', () => {
    const { task: _, ...noTask } = sudoku4;
    expect(() => taskForModel(parseConfig(noTask))).toThrow(/does not name its task.*--task/);
    expect(() => taskForModel(parseConfig({ ...sudoku4, task: 'chess' }))).toThrow(/not a built-in task.*got: "chess"/);
    expect(() => taskForModel(sudoku4, 'sudoku9')).toThrow(/task sudoku9 does not fit the model; field: seq_len; got: 16; expected: 81/);
    expect(() => taskForModel(parseConfig({ ...sudoku4, vocab_size: 5 }))).toThrow(/field: vocab_size/);
  });
});
