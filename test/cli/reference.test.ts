/**
 * The reference answers `trm solve` checks the model against equal the generators' labels,
 * and puzzles without an answer are refused with a message naming the problem.
 */
import { describe, expect, it } from 'vitest';
import { InputError, getTask } from '../../lib';
import { referenceAnswer } from '../../lib/cli/reference';

describe('referenceAnswer', () => {
  for (const [name, params] of [['sudoku4', {}], ['sudoku9', {}], ['maze', { size: 9 }], ['compliance', {}]] as const) {
    it(`gives the generator's labels for ${name}`, () => {
      const task = getTask(name, params);
      for (const e of task.generate(15, 21)) {
        const ref = referenceAnswer(task, e.inputs);
        expect(ref.note).toBeUndefined();
        expect(Array.from(ref.labels!)).toEqual(Array.from(e.labels));
      }
    });
  }

  it('refuses a Sudoku whose givens conflict', () => {
    const task = getTask('sudoku4');
    expect(() => referenceAnswer(task, task.parse('11..............'))).toThrow(InputError);
    expect(() => referenceAnswer(task, task.parse('11..............'))).toThrow(/no solution/);
  });

  it('does not pick one of several Sudoku solutions', () => {
    const task = getTask('sudoku4');
    const ref = referenceAnswer(task, task.parse('1...............'));
    expect(ref.labels).toBeUndefined();
    expect(ref.note).toMatch(/more than one solution/);
  });

  it('refuses mazes without one S and one G, or with G out of reach', () => {
    const task = getTask('maze', { size: 5 });
    expect(() => referenceAnswer(task, task.parse('#####\n#S  #\n# # #\n#   #\n#####'))).toThrow(/exactly one start S and one goal G/);
    expect(() => referenceAnswer(task, task.parse('#####\n#S#G#\n# # #\n# # #\n#####'))).toThrow(/cannot be reached/);
    expect(referenceAnswer(task, task.parse('#####\n#S  #\n# # #\n#  G#\n#####')).note).toMatch(/more than one shortest path/);
  });
});
