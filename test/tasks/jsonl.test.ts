/**
 * The JSONL dataset format: generated sets survive a round trip, and every malformed file
 * is a DatasetError that names the line, the field, the value and the file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetError, TrmError, getTask, readJsonlDataset, writeJsonlDataset } from '../../lib/index';
import { expectThrows } from '../helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-jsonl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let fileCounter = 0;
function fileWith(text: string): string {
  const file = path.join(tmp, `case-${fileCounter++}.jsonl`);
  fs.writeFileSync(file, text);
  return file;
}

const good = (inputs: number[], labels: number[], extra: Record<string, unknown> = {}): string => JSON.stringify({ inputs, labels, ...extra });

describe('round trip', () => {
  for (const name of ['sudoku4', 'maze', 'compliance']) {
    it(`${name}: write then read gives the same examples`, () => {
      const task = getTask(name, name === 'maze' ? { size: 9 } : {});
      const examples = task.generate(50, 1);
      const file = path.join(tmp, `${name}.jsonl`);
      writeJsonlDataset(file, examples);
      const back = readJsonlDataset(file, { seqLen: task.seqLen, vocabSize: task.vocabSize, numPuzzleIdentifiers: 1 });
      expect(back.length).toBe(50);
      back.forEach((e, k) => {
        expect(e.inputs).toBeInstanceOf(Int32Array);
        expect(Array.from(e.inputs)).toEqual(Array.from(examples[k].inputs));
        expect(Array.from(e.labels)).toEqual(Array.from(examples[k].labels));
        expect(e.puzzleIdentifier).toBe(0);
      });
      expect(fs.readFileSync(file, 'utf8').split('\n').length).toBe(51); // one line each, newline-terminated
    });
  }

  it('reads without options, skips blank lines and CRLF, defaults puzzle_identifier to 0', () => {
    const file = fileWith(`${good([1, 2], [3, -100])}\r\n\n   \n${good([0, 0], [-100, 7], { puzzle_identifier: 4 })}\n`);
    const examples = readJsonlDataset(file);
    expect(examples.map((e) => [Array.from(e.inputs), Array.from(e.labels), e.puzzleIdentifier])).toEqual([[[1, 2], [3, -100], 0], [[0, 0], [-100, 7], 4]]);
  });

  it('writes atomically: a failed write leaves the old file', () => {
    const file = path.join(tmp, 'atomic.jsonl');
    writeJsonlDataset(file, [{ inputs: Int32Array.of(1), labels: Int32Array.of(1), puzzleIdentifier: 0 }]);
    const before = fs.readFileSync(file, 'utf8');
    expect(() => writeJsonlDataset(file, [{ inputs: Int32Array.of(1, 2), labels: Int32Array.of(1), puzzleIdentifier: 0 }])).toThrow(DatasetError);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('errors', () => {
  // [what, file text, read options, line, field, message pattern]
  const cases: Array<[string, string, object, number | undefined, string, RegExp]> = [
    ['bad JSON', `${good([1], [1])}\n{"inputs": [1], "labels": [1]\n`, {}, 2, 'line', /not valid JSON/],
    ['not an object', `[1, 2]\n`, {}, 1, 'line', /not a JSON object/],
    ['missing inputs', `{"labels": [1]}\n`, {}, 1, 'inputs', /missing field/],
    ['missing labels', `{"inputs": [1]}\n`, {}, 1, 'labels', /missing field/],
    ['extra field', `{"inputs": [1], "labels": [1], "label": 3}\n`, {}, 1, 'label', /unknown field/],
    ['inputs not an array', `{"inputs": "1 2", "labels": [1, 2]}\n`, {}, 1, 'inputs', /not an array/],
    ['empty inputs', `{"inputs": [], "labels": []}\n`, {}, 1, 'inputs', /empty/],
    ['fractional token', `${good([1, 2, 3], [1, 1, 1])}\n${good([1, 2.5, 3], [1, 1, 1])}\n`, {}, 2, 'inputs[1]', /not an integer/],
    ['string token', `${good([1, 2, 3], [1, '2', 1] as never)}\n`, {}, 1, 'labels[1]', /not an integer/],
    ['negative input', `${good([1, -1], [1, 1])}\n`, {}, 1, 'inputs[1]', /outside the vocabulary/],
    ['-100 in inputs', `${good([1, -100], [1, 1])}\n`, {}, 1, 'inputs[1]', /outside the vocabulary/],
    ['input >= vocab', `${good([1, 11], [1, 1])}\n`, { vocabSize: 11 }, 1, 'inputs[1]', /outside the vocabulary/],
    ['label >= vocab', `${good([1, 1], [1, 11])}\n`, { vocabSize: 11 }, 1, 'labels[1]', /outside the vocabulary/],
    ['label -1', `${good([1, 1], [-1, 1])}\n`, {}, 1, 'labels[0]', /outside the vocabulary/],
    ['labels shorter', `${good([1, 1, 1], [1, 1])}\n`, {}, 1, 'labels.length', /differ in length/],
    ['length differs from line 1', `${good([1, 1], [1, 1])}\n${good([1, 1, 1], [1, 1, 1])}\n`, {}, 2, 'inputs.length', /first example/],
    ['length differs from seqLen', `${good([1, 1], [1, 1])}\n`, { seqLen: 3 }, 1, 'inputs.length', /wrong length/],
    ['all labels ignored', `${good([1, 1], [-100, -100])}\n`, {}, 1, 'labels', /every label is -100/],
    ['bad puzzle_identifier', `${good([1], [1], { puzzle_identifier: -2 })}\n`, {}, 1, 'puzzle_identifier', /puzzle identifier/],
    ['puzzle_identifier out of range', `${good([1], [1], { puzzle_identifier: 3 })}\n`, { numPuzzleIdentifiers: 3 }, 1, 'puzzle_identifier', /puzzle identifier/],
    ['empty file', '', {}, undefined, 'file', /no examples/],
    ['blank lines only', '\n  \n', {}, undefined, 'file', /no examples/],
    ['bad option', `${good([1], [1])}\n`, { vocabSize: 0 }, undefined, 'vocabSize', /read option/],
  ];

  for (const [what, text, options, line, field, pattern] of cases) {
    it(`${what}: DatasetError at ${line === undefined ? 'file level' : `line ${line}`}, field ${field}`, () => {
      const file = fileWith(text);
      const err = expectThrows(() => readJsonlDataset(file, options), DatasetError);
      expect(err).toBeInstanceOf(TrmError);
      expect(err.line).toBe(line);
      expect(err.field).toBe(field);
      expect(err.file).toBe(file);
      expect(err.message).toMatch(pattern);
      expect(err.message).toContain(file);
      if (line !== undefined) expect(err.message.startsWith(`line ${line}: ${field}: `)).toBe(true);
      expect(err.expected).toBeTruthy();
    });
  }

  it('an unwritable path is a DatasetError', () => {
    const file = path.join(tmp, 'no-such-dir', 'out.jsonl');
    expect(() => writeJsonlDataset(file, [{ inputs: Int32Array.of(1), labels: Int32Array.of(1), puzzleIdentifier: 0 }])).toThrow(/cannot write.*ENOENT/);
  });

  it('a missing file is a DatasetError too', () => {
    const file = path.join(tmp, 'nope.jsonl');
    expect(() => readJsonlDataset(file)).toThrow(DatasetError);
    expect(() => readJsonlDataset(file)).toThrow(/ENOENT/);
  });
});
