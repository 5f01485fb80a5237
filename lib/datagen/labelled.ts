/** What the labelled-data generators share: the example shape, distinct draws, and writing JSONL. */
import { DatasetError, OptionError } from '../errors';
import { writeFileAtomic } from '../model/safetensors';

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
  const seen = new Set<string>();
  const out: LabelledExample[] = [];
  let misses = 0;
  while (out.length < count) {
    const example = make();
    const key = inputKey(example);
    if (seen.has(key) || exclude?.has(key)) {
      if (++misses > 1000 + 10 * count) {
        throw new OptionError(`${name} cannot make that many distinct examples`, { field: 'count', value: count, expected: `fewer examples (got ${out.length} distinct)` });
      }
      continue;
    }
    seen.add(key);
    out.push(example);
  }
  return out;
}

export function writeLabelledJsonl(file: string, examples: readonly LabelledExample[]): void {
  try {
    writeFileAtomic(file, examples.map((e) => JSON.stringify({ input: e.input, label: e.label })).join('\n') + (examples.length > 0 ? '\n' : ''));
  } catch (e) {
    throw new DatasetError('cannot write the dataset file', { field: 'file', value: (e as NodeJS.ErrnoException).code ?? String(e), expected: 'a writable path', file });
  }
}
