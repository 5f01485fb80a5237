/**
 * Labelled JSONL for codec models, one example per line:
 *   {"input": { ...record } | "text", "label": <scalar> | { ...label fields } | [classes]}
 * Reading checks the shape of each line; encoding runs the codec on it. Every problem is a
 * DatasetError with the line and the field (an InputError of the codec becomes one).
 */
import * as fs from 'node:fs';
import { DatasetError, InputError } from '../errors';
import { readJsonObjects } from '../data/jsonl';
import type { Example } from '../tasks/task';
import { encodeExample, type Codec } from './codec';
import type { EncodeNote } from './codec-types';

export interface LabelledRecord {
  line: number;
  input: unknown;
  /** undefined on a line without a label (solve inputs; training and scoring need one). */
  label: unknown;
}

const SHAPE = '{"input": {...} or "text", "label": ...}';

/** The lines of a labelled JSONL file. `requireLabel`: every line must have a label (training, scoring). */
export function readLabelledJsonl(file: string, requireLabel = true): LabelledRecord[] {
  return readJsonObjects(file, SHAPE, (record, line) => {
    for (const key of Object.keys(record)) {
      if (key !== 'input' && key !== 'label') throw new DatasetError('unknown field', { line, field: key, value: record[key], expected: `only input and label (${SHAPE})`, file });
    }
    const input = record.input;
    if (input === undefined) throw new DatasetError('missing field', { line, field: 'input', expected: 'a record (JSON object) or a text (string)', file });
    if (typeof input !== 'string' && (typeof input !== 'object' || input === null || Array.isArray(input))) {
      throw new DatasetError('the input is neither a record nor a text', { line, field: 'input', value: input, expected: 'a JSON object or a string', file });
    }
    if (requireLabel && record.label === undefined) throw new DatasetError('missing field', { line, field: 'label', expected: 'a class, an object of label fields, or a list of classes', file });
    return { line, input, label: record.label };
  });
}

/**
 * True when the first example of `file` is a labelled record or text (`input`), not token
 * lists (`inputs`). A file that cannot be read or parsed is left to the reader to report.
 */
export function isLabelledDataset(file: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const first = text.split('\n').find((l) => l.trim() !== '');
  try {
    const record = JSON.parse(first ?? '');
    return typeof record === 'object' && record !== null && 'input' in record && !('inputs' in record);
  } catch {
    return false;
  }
}

export interface EncodedDataset {
  examples: Example[];
  /** Unknown category values and truncated texts, by field: how often, and the first lines. */
  notes: Map<string, { kind: EncodeNote['kind']; count: number; lines: number[] }>;
}

/** The examples of `records` under `codec`; an input or label the codec cannot take is a DatasetError naming the line. */
export function encodeDataset(codec: Codec, records: readonly LabelledRecord[], file: string): EncodedDataset {
  const notes: EncodedDataset['notes'] = new Map();
  const examples = records.map((r) => {
    try {
      const { example, notes: lineNotes } = encodeExample(codec, r.input, r.label);
      for (const note of lineNotes) {
        const entry = notes.get(note.field) ?? { kind: note.kind, count: 0, lines: [] };
        entry.count++;
        if (entry.lines.length < 5) entry.lines.push(r.line);
        notes.set(note.field, entry);
      }
      return example;
    } catch (e) {
      if (e instanceof InputError) throw new DatasetError(e.summary, { line: r.line, field: e.field, value: e.value, expected: e.expected, file });
      throw e;
    }
  });
  return { examples, notes };
}

/** One line per noted field, for people: "input.x: 3 unknown value(s) -> UNK (lines 4, 9, 12)". */
export function describeNotes(notes: EncodedDataset['notes']): string[] {
  return [...notes].map(([field, n]) => `${field}: ${n.count} ${n.kind === 'unknown' ? 'value(s) not seen in training, encoded as UNK' : 'text(s) truncated to the maximum length'} (line${n.lines.length > 1 ? 's' : ''} ${n.lines.join(', ')}${n.count > n.lines.length ? ', ...' : ''})`);
}
