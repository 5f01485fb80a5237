#!/usr/bin/env node
/**
 * The `trm` command line: `trm info DIR`, `trm run DIR`, `trm export-onnx DIR` and `trm generate`. Each command
 * is a thin shell over the library API, so what it prints is what a service would get.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, OptionError, supportedIsas, TrmError } from './index';
import { readModelDirectory } from './model/directory';
import { SeededRandom } from './model/random';
import { writeFileAtomic } from './model/safetensors';
import { exportOnnx, ONNX_OPSET } from './onnx/exporter';
import { readJsonlDataset, writeJsonlDataset } from './data/jsonl';
import { exampleKey, getTask } from './tasks';
import type { BackendName, IsaName } from './types';

const USAGE = `usage:
  trm info DIR                      config, sizes and the ISA the native backend picks
  trm run DIR [options]             run the model on random inputs and print the trace
    --batch N        samples (default 4)
    --inputs LIST    one sample's tokens, comma-separated (instead of random inputs)
    --steps N        max ACT steps (default: the model's halt_max_steps)
    --threshold T    adaptive halting: stop a sample once sigmoid(q_halt) > T
    --seed N         seed of the random inputs (default 1)
    --threads N      worker threads (default: all cores)
    --isa NAME       auto | scalar | avx2 | avx512
    --backend NAME   native (default) | onnx
  trm export-onnx DIR [options]     export the model as an ONNX graph
    --out FILE       where to write it (default: DIR/model.onnx, which --backend onnx then loads)
    --graph KIND     step (default: one ACT step, what the onnx backend runs) | run (--steps
                     fixed ACT steps, no halting, for other runtimes)
    --steps N        ACT steps of the run graph (default: the model's halt_max_steps)
  trm generate --task NAME --count N --out FILE.jsonl [options]
                                    write a generated dataset as JSONL (docs/tasks.md)
    --task NAME      sudoku4 | sudoku9 | maze | compliance
    --seed N         seed (default 1): the same seed gives the same file
    --exclude FILE   a JSONL file whose inputs must not appear (e.g. the training set, for a test set)
    --min-blanks N, --max-blanks N    Sudoku: blank cells per puzzle
    --size N                          maze: side of the grid (seq_len N*N, default 11)
    --min-path N, --loop-percent P    maze: shortest path length at least N; P% extra walls removed
    --min-clauses N, --max-clauses N  compliance: clauses per example (1-4)`;

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new TrmError('not an integer', { field: `--${name}`, value, expected: 'an integer' });
  return n;
}

async function info(dir: string): Promise<void> {
  const model = await loadModel(dir);
  const { config, dimensions } = model;
  console.log(JSON.stringify({ dir, config, dimensions, ...model.info, supportedIsas: supportedIsas() }, null, 2));
  model.dispose();
}

async function run(dir: string, values: Record<string, string | boolean | undefined>): Promise<void> {
  const model = await loadModel(dir, {
    threads: intOption(values.threads as string, 'threads'), isa: values.isa as IsaName | undefined, backend: values.backend as BackendName | undefined,
  });
  const { seq_len: S, vocab_size: V } = model.config;
  let inputs: Int32Array;
  if (typeof values.inputs === 'string') {
    inputs = Int32Array.from(values.inputs.split(',').map((t) => Number(t.trim())));
  } else {
    const batch = intOption(values.batch as string, 'batch') ?? 4;
    const rng = new SeededRandom(intOption(values.seed as string, 'seed') ?? 1, 'cli');
    inputs = Int32Array.from({ length: batch * S }, () => rng.nextU32() % V);
  }
  const threshold = values.threshold === undefined ? null : Number(values.threshold);
  const start = process.hrtime.bigint();
  const r = await model.infer({ inputs }, { maxSteps: intOption(values.steps as string, 'steps'), haltThreshold: threshold, trace: true });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${dir}: batch ${r.batch}, ${model.info.backend} backend, ${model.info.isa}, ${model.info.threads} thread(s)`);
  console.log('step | ' + Array.from({ length: r.batch }, (_, b) => `sample ${b}: changed  conf  p(halt)`).join(' | '));
  for (const rec of r.trace!) {
    const cells = Array.from({ length: r.batch }, (_, b) =>
      `${rec.halted[b] && rec.step > r.steps[b] ? '  (halted)' : String(rec.changed[b]).padStart(10)} ${rec.confidence[b].toFixed(3)} ${rec.haltProbability[b].toFixed(3)}`.padEnd(33));
    console.log(`${String(rec.step).padStart(4)} | ${cells.join(' | ')}`);
  }
  for (let b = 0; b < r.batch; b++) {
    console.log(`sample ${b}: halted after ${r.steps[b]} step(s); prediction ${Array.from(r.predictions.subarray(b * S, (b + 1) * S)).join(' ')}`);
  }
  console.log(`${ms.toFixed(1)} ms for the whole call`);
  model.dispose();
}

async function exportCommand(dir: string, values: Record<string, string | boolean | undefined>): Promise<void> {
  const graph = (values.graph as string | undefined) ?? 'step';
  if (graph !== 'step' && graph !== 'run') throw new OptionError('unknown graph kind', { field: '--graph', value: graph, expected: 'step or run' });
  const steps = intOption(values.steps as string, 'steps');
  if (steps !== undefined && graph !== 'run') throw new OptionError('--steps applies to the run graph only', { field: '--steps', value: steps, expected: '--graph run' });
  const { dir: root, config, weights } = readModelDirectory(dir);
  const out = path.resolve(typeof values.out === 'string' ? values.out : path.join(root, 'model.onnx'));
  const bytes = exportOnnx(config, weights, steps === undefined ? { graph } : { graph, steps });
  writeFileAtomic(out, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  console.log(`${out}: ${graph} graph, opset ${ONNX_OPSET}, ${(bytes.byteLength / 1024).toFixed(1)} KiB`);
}

async function generate(values: Record<string, string | boolean | undefined>): Promise<void> {
  if (typeof values.task !== 'string') throw new OptionError('generate needs a task', { field: '--task', value: values.task, expected: 'sudoku4, sudoku9, maze or compliance' });
  if (typeof values.out !== 'string') throw new OptionError('generate needs an output file', { field: '--out', value: values.out, expected: 'a path ending in .jsonl' });
  const count = intOption(values.count as string, 'count');
  if (count === undefined) throw new OptionError('generate needs a count', { field: '--count', value: undefined, expected: 'an integer >= 0' });
  const size = intOption(values.size as string, 'size');
  const task = getTask(values.task, size === undefined ? {} : { size });
  // Only the flags given become options, so a flag the task does not take is an error there, not ignored.
  const flags: Array<[string, string]> = [
    ['min-blanks', 'minBlanks'], ['max-blanks', 'maxBlanks'], ['min-path', 'minPathLength'], ['loop-percent', 'loopPercent'],
    ['min-clauses', 'minClauses'], ['max-clauses', 'maxClauses'],
  ];
  const options: Record<string, unknown> = {};
  for (const [flag, key] of flags) {
    const v = intOption(values[flag] as string, flag);
    if (v !== undefined) options[key] = v;
  }
  if (typeof values.exclude === 'string') {
    const excluded = readJsonlDataset(values.exclude, { seqLen: task.seqLen, vocabSize: task.vocabSize });
    options.exclude = new Set(excluded.map((e) => exampleKey(e.inputs)));
  }
  const seed = intOption(values.seed as string, 'seed') ?? 1;
  const start = process.hrtime.bigint();
  let examples;
  try {
    examples = task.generate(count, seed, options);
  } catch (e) {
    // Name the flag the user typed rather than the library option behind it.
    const flag = flags.find(([, key]) => e instanceof OptionError && e.field === key);
    if (e instanceof OptionError && flag) throw new OptionError(e.message.split(';')[0], { field: `--${flag[0]}`, value: e.value, expected: e.expected });
    throw e;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const out = path.resolve(values.out);
  writeJsonlDataset(out, examples);
  console.log(`${out}: ${examples.length} ${task.name} examples (seq_len ${task.seqLen}, vocab ${task.vocabSize}, seed ${seed}) in ${ms.toFixed(0)} ms`);
  if (examples.length > 0) console.log(`first example:\n${task.format(examples[0].inputs)}\nlabels:\n${task.format(examples[0].inputs, examples[0].labels)}`);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      batch: { type: 'string' }, inputs: { type: 'string' }, steps: { type: 'string' }, threshold: { type: 'string' },
      seed: { type: 'string' }, threads: { type: 'string' }, isa: { type: 'string' }, backend: { type: 'string' },
      out: { type: 'string' }, graph: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      task: { type: 'string' }, count: { type: 'string' }, exclude: { type: 'string' }, size: { type: 'string' },
      'min-blanks': { type: 'string' }, 'max-blanks': { type: 'string' }, 'min-path': { type: 'string' }, 'loop-percent': { type: 'string' },
      'min-clauses': { type: 'string' }, 'max-clauses': { type: 'string' },
    },
  });
  const [command, dir] = positionals;
  if (command === 'generate' && !values.help) {
    await generate(values);
    return 0;
  }
  if (values.help || !command || !dir) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === 'info') await info(dir);
  else if (command === 'run') await run(dir, values);
  else if (command === 'export-onnx') await exportCommand(dir, values);
  else {
    console.error(`unknown command ${command}\n${USAGE}`);
    return 2;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    console.error(e instanceof TrmError ? `trm: ${e.name}: ${e.message}` : e);
    process.exitCode = 1;
  },
);
