/**
 * The JSONL dataset reader (lib/data/jsonl.ts parseJsonlDataset), with and without the
 * model's seqLen / vocabSize / numPuzzleIdentifiers. Seeds: valid datasets of every task's
 * generator (what `trm generate` writes). Edits: a line's JSON edited, lines dropped,
 * doubled or swapped, CRLF and BOM, byte-level edits of the text.
 */
import fc from 'fast-check';
import { parseJsonlDataset, type ReadJsonlOptions } from '../../../lib/data/jsonl';
import { getTask, TASK_NAMES } from '../../../lib/tasks';
import { applyJsonEdits, jsonEdit, mutatedBytes } from '../mutate';
import type { FuzzTarget } from '../target';

interface Input {
  text: string;
  options: ReadJsonlOptions;
}

interface Seed {
  lines: unknown[];
  options: ReadJsonlOptions;
}

function seeds(): Seed[] {
  return TASK_NAMES.map((name) => {
    const task = getTask(name);
    const examples = task.generate(6, 11);
    return {
      lines: examples.map((e) => ({ inputs: Array.from(e.inputs), labels: Array.from(e.labels), puzzle_identifier: e.puzzleIdentifier })),
      options: { seqLen: task.seqLen, vocabSize: task.vocabSize, numPuzzleIdentifiers: task.numPuzzleIdentifiers },
    };
  });
}

const lineEdit = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('json' as const), line: fc.nat(), edits: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('drop' as const, 'double' as const, 'swap' as const, 'crlf' as const, 'blank' as const), line: fc.nat() }) },
);

function render(seed: Seed, edits: ReadonlyArray<{ kind: string; line: number; edits?: unknown }>, bom: boolean): string {
  const lines = seed.lines.map((l) => JSON.stringify(l));
  for (const e of edits) {
    const i = e.line % lines.length;
    if (lines.length === 0) break;
    switch (e.kind) {
      case 'json': if (lines[i].trim().startsWith('{')) lines[i] = applyJsonEdits(JSON.parse(lines[i].trim()), e.edits as never); break;
      case 'drop': lines.splice(i, 1); break;
      case 'double': lines.splice(i, 0, lines[i]); break;
      case 'swap': [lines[0], lines[i]] = [lines[i], lines[0]]; break;
      case 'crlf': lines[i] += '\r'; break;
      case 'blank': lines.splice(i, 0, '   '); break;
    }
  }
  return (bom ? '\ufeff' : '') + lines.join('\n') + '\n';
}

export const jsonlTarget: FuzzTarget<Input> = {
  name: 'jsonl',
  share: 0.425,
  corpus: 'valid datasets from every task generator (lib/tasks), 6 examples each',
  arbitrary() {
    const all = seeds();
    const structured = fc.tuple(fc.integer({ min: 0, max: all.length - 1 }), fc.array(lineEdit, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 9 }).map((n) => n === 0))
      .map(([i, edits, bom]) => ({ i, text: render(all[i], edits, bom) }));
    const texts = all.map((s) => Buffer.from(render(s, [], false)));
    const byteLevel = fc.integer({ min: 0, max: all.length - 1 }).chain((i) => mutatedBytes([texts[i]]).map((b) => ({ i, text: b.toString('utf8') })));
    return fc.tuple(fc.oneof({ weight: 3, arbitrary: structured }, { weight: 1, arbitrary: byteLevel }), fc.boolean())
      .map(([{ i, text }, withOptions]) => ({ text, options: withOptions ? all[i].options : {} }));
  },
  run({ text, options }) {
    parseJsonlDataset(text, 'fuzz/data.jsonl', options);
  },
  bytes: (input) => `${JSON.stringify(input.options)}\n${input.text}`,
};
