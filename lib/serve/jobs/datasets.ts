/**
 * Uploaded datasets: a JSONL body in the dataset format (lib/data/jsonl.ts), checked line by
 * line by the same reader `trm train --data` uses (the first problem is a 400 naming its line
 * and field), against a task's encoding when one is named, and kept in the repository as
 * `DIR/.trm/datasets/<id>.jsonl`. The id is the content's hash, so the same upload twice is
 * the same dataset.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonlDataset } from '../../data/jsonl';
import { DatasetError } from '../../errors';
import { getTask } from '../../tasks';
import type { DatasetRecord, JobStore } from './store';

export function addDataset(store: JobStore, body: string, options: { name?: string; task?: string }): DatasetRecord {
  const task = options.task !== undefined ? getTask(options.task) : undefined;
  const sha256 = createHash('sha256').update(body).digest('hex');
  const id = `ds-${sha256.slice(0, 16)}`;
  const known = store.dataset(id);
  if (known) return known;
  const file = store.datasetFile(id);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const upload = `${file}.${process.pid}.${Date.now()}.upload`;
  fs.writeFileSync(upload, body);
  try {
    const examples = readTaskDataset(upload, task);
    let vocab = 0, ids = 0;
    for (const e of examples) {
      for (const t of e.inputs) vocab = Math.max(vocab, t + 1);
      for (const t of e.labels) vocab = Math.max(vocab, t + 1);
      ids = Math.max(ids, e.puzzleIdentifier + 1);
    }
    fs.renameSync(upload, file);
    return store.addDataset({
      id, name: options.name ?? null, task: task?.name ?? null, count: examples.length, seqLen: examples[0].inputs.length,
      vocabSize: task?.vocabSize ?? vocab, numPuzzleIdentifiers: task?.numPuzzleIdentifiers ?? ids, sha256, bytes: Buffer.byteLength(body), created: new Date().toISOString(),
    });
  } finally {
    fs.rmSync(upload, { force: true });
  }
}

function readTaskDataset(file: string, task: ReturnType<typeof getTask> | undefined) {
  try {
    return readJsonlDataset(file, task ? { seqLen: task.seqLen, vocabSize: task.vocabSize, numPuzzleIdentifiers: task.numPuzzleIdentifiers } : {});
  } catch (e) {
    // The upload's temporary file name means nothing to the caller: the body is the file.
    if (e instanceof DatasetError) {
      const where = [e.line !== undefined ? `line ${e.line}` : undefined, e.field].filter((p) => p !== undefined).join(': ');
      const message = e.message.split(';')[0].slice(where ? where.length + 2 : 0);
      throw new DatasetError(message, { line: e.line, field: e.field, ...('value' in e ? { value: e.value } : {}), expected: e.expected, file: 'the request body' });
    }
    throw e;
  }
}
