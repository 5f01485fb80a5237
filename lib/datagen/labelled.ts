/** What the labelled-data generators share: the example shape, distinct draws, and writing JSONL. */
import { DatasetError } from '../errors';
import { collectDistinctBy } from '../tasks/task';
import { writeFileAtomic } from '../util/write-file-atomic';

/** One line of a labelled JSONL file (lib/codecs/dataset.ts). */
export interface LabelledExample {
  input: unknown;
  label: unknown;
}

/** The key two examples with the same input share. */
export function inputKey(example: LabelledExample): string {
  return JSON.stringify(example.input);
}

/** Draws until `count` examples with distinct inputs (none in `exclude`); an OptionError when the space is too small. */
export function distinctRecords(count: number, exclude: ReadonlySet<string> | undefined, make: () => LabelledExample, name: string): LabelledExample[] {
  return collectDistinctBy(count, exclude, make, inputKey, name);
}

export function writeLabelledJsonl(file: string, examples: readonly LabelledExample[]): void {
  try {
    writeFileAtomic(file, examples.map((e) => JSON.stringify({ input: e.input, label: e.label })).join('\n') + (examples.length > 0 ? '\n' : ''));
  } catch (e) {
    throw new DatasetError('cannot write the dataset file', { field: 'file', value: (e as NodeJS.ErrnoException).code ?? String(e), expected: 'a writable path', file });
  }
}
