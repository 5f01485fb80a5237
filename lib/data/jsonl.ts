/**
 * The user dataset format: JSONL, one example per line,
 *   {"inputs": [ints], "labels": [ints], "puzzle_identifier": int}
 * with `puzzle_identifier` optional (default 0) and -100 in `labels` for positions the loss
 * and the scorer skip. Blank lines are skipped. Every problem is a DatasetError naming the
 * line, the field, the value and what was expected; the first one found is thrown.
 */
import * as fs from 'node:fs';
import { DatasetError } from '../errors';
import { writeFileAtomic } from '../util/write-file-atomic';
import { Example, IGNORE_LABEL } from '../tasks/task';

export interface ReadJsonlOptions {
  /** Every line's `inputs` and `labels` must have this length; default: the first line's. */
  seqLen?: number;
  /** Tokens must lie in [0, vocabSize); default: any integer >= 0 (labels also -100). */
  vocabSize?: number;
  /** puzzle_identifier must lie in [0, numPuzzleIdentifiers); default: any integer >= 0. */
  numPuzzleIdentifiers?: number;
}

const FIELDS = ['inputs', 'labels', 'puzzle_identifier'] as const;
/** Largest token a dataset may hold without a vocabSize: tokens travel as Int32. */
const MAX_TOKEN = 0x7fffffff;

export function readJsonlDataset(file: string, options: ReadJsonlOptions = {}): Example[] {
  checkReadOptions(options, file);
  return parseJsonlDataset(readDatasetText(file), file, options);
}

/** The dataset in `text` (a JSONL file's contents); `file` only labels errors. */
export function parseJsonlDataset(text: string, file: string, options: ReadJsonlOptions = {}): Example[] {
  checkReadOptions(options, file);
  let seqLen = options.seqLen;
  return parseJsonObjects(text, file, '{"inputs": [...], "labels": [...]}', (record, line) => {
    const example = parseLine(record, line, file, seqLen, options);
    seqLen ??= example.inputs.length;
    return example;
  });
}

function checkReadOptions(options: ReadJsonlOptions, file: string): void {
  for (const key of ['seqLen', 'vocabSize', 'numPuzzleIdentifiers'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new DatasetError('invalid read option', { field: key, value: v, expected: 'an integer >= 1', file });
  }
}

function readDatasetText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError('cannot read the dataset file', { field: 'file', value: (e as NodeJS.ErrnoException).code ?? String(e), expected: 'a readable JSONL file', file });
  }
}

/**
 * The one JSONL reader: each non-blank line of `file` parsed as a JSON object and handed to
 * `parse` with its 1-based line number. A line that is not JSON, or not an object, is a
 * DatasetError naming the line; so is a file with no examples. `shape` is what one line looks
 * like, for those messages.
 */
export function readJsonObjects<T>(file: string, shape: string, parse: (record: Record<string, unknown>, line: number) => T): T[] {
  return parseJsonObjects(readDatasetText(file), file, shape, parse);
}

/** readJsonObjects on a file's contents already in memory; `file` only labels errors. */
export function parseJsonObjects<T>(text: string, file: string, shape: string, parse: (record: Record<string, unknown>, line: number) => T): T[] {
  const lines = text.split('\n');
  const out: T[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/\r$/, '');
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(`not valid JSON (${(e as Error).message})`, { line: index + 1, field: 'line', value: line, expected: 'one JSON object per line', file });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new DatasetError('not a JSON object', { line: index + 1, field: 'line', value: raw, expected: shape, file });
    }
    out.push(parse(raw as Record<string, unknown>, index + 1));
  }
  if (out.length === 0) throw new DatasetError('the dataset has no examples', { field: 'file', value: text.length === 0 ? '(empty file)' : '(blank lines only)', expected: 'one JSON object per line', file });
  return out;
}

function parseLine(record: Record<string, unknown>, lineNumber: number, file: string, seqLen: number | undefined, options: ReadJsonlOptions): Example {
  const fail = (message: string, field: string, value: unknown, expected: string): never => {
    throw new DatasetError(message, { line: lineNumber, field, value, expected, file });
  };
  for (const key of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(key)) fail('unknown field', key, record[key], `only ${FIELDS.join(', ')}`);
  }
  const vocab = options.vocabSize;
  const tokenRange = vocab === undefined ? 'an integer >= 0' : `an integer in [0, ${vocab})`;
  const readTokens = (name: 'inputs' | 'labels'): Int32Array => {
    const value = record[name];
    if (value === undefined) fail('missing field', name, value, `an array of ${seqLen ?? 'seq_len'} tokens`);
    if (!Array.isArray(value)) fail('not an array', name, value, `an array of ${seqLen ?? 'seq_len'} tokens`);
    const tokens = value as unknown[];
    if (tokens.length === 0) fail('empty token list', name, tokens, `an array of ${seqLen ?? 'seq_len'} tokens`);
    if (seqLen !== undefined && tokens.length !== seqLen) {
      fail(options.seqLen !== undefined ? 'wrong length' : 'length differs from the first example', `${name}.length`, tokens.length, `${seqLen} tokens`);
    }
    const out = new Int32Array(tokens.length);
    tokens.forEach((t, i) => {
      const ignored = name === 'labels' && t === IGNORE_LABEL;
      if (typeof t !== 'number' || !Number.isInteger(t)) fail('token is not an integer', `${name}[${i}]`, t, name === 'labels' ? `${tokenRange} or ${IGNORE_LABEL}` : tokenRange);
      const n = t as number;
      if (!ignored && (n < 0 || n > MAX_TOKEN || (vocab !== undefined && n >= vocab))) {
        fail('token outside the vocabulary', `${name}[${i}]`, n, name === 'labels' ? `${tokenRange} or ${IGNORE_LABEL} (ignored)` : tokenRange);
      }
      out[i] = n;
    });
    return out;
  };
  const inputs = readTokens('inputs');
  const labels = readTokens('labels');
  if (labels.length !== inputs.length) fail('labels and inputs differ in length', 'labels.length', labels.length, `${inputs.length} (the length of inputs)`);
  if (labels.every((t) => t === IGNORE_LABEL)) fail(`every label is ${IGNORE_LABEL} (ignored)`, 'labels', Array.from(labels), 'at least one labelled position');
  let puzzleIdentifier = 0;
  if (record.puzzle_identifier !== undefined) {
    const id = record.puzzle_identifier;
    const limit = options.numPuzzleIdentifiers;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN || (limit !== undefined && id >= limit)) {
      fail('invalid puzzle identifier', 'puzzle_identifier', id, limit === undefined ? 'an integer >= 0' : `an integer in [0, ${limit})`);
    }
    puzzleIdentifier = id as number;
  }
  return { inputs, labels, puzzleIdentifier };
}

/** Writes `examples` as JSONL (one line each, puzzle_identifier always written), atomically. */
export function writeJsonlDataset(file: string, examples: readonly Example[]): void {
  const lines = examples.map((example, k) => {
    if (example.inputs.length !== example.labels.length) {
      throw new DatasetError('labels and inputs differ in length', { line: k + 1, field: 'labels.length', value: example.labels.length, expected: `${example.inputs.length} (the length of inputs)`, file });
    }
    return JSON.stringify({ inputs: Array.from(example.inputs), labels: Array.from(example.labels), puzzle_identifier: example.puzzleIdentifier });
  });
  try {
    writeFileAtomic(file, lines.length === 0 ? '' : lines.join('\n') + '\n');
  } catch (e) {
    throw new DatasetError('cannot write the dataset file', { field: 'file', value: (e as NodeJS.ErrnoException).code ?? String(e), expected: 'a writable path', file });
  }
}
