#!/usr/bin/env node
/**
 * The `trm` command line: `trm info DIR`, `trm run DIR` and `trm export-onnx DIR`. Each command is a thin shell
 * over the library API, so what it prints is what a service would get.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, OptionError, supportedIsas, TrmError } from './index';
import { readModelDirectory } from './model/directory';
import { SeededRandom } from './model/random';
import { writeFileAtomic } from './model/safetensors';
import { exportOnnx, ONNX_OPSET } from './onnx/exporter';
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
    --steps N        ACT steps of the run graph (default: the model's halt_max_steps)`;

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

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      batch: { type: 'string' }, inputs: { type: 'string' }, steps: { type: 'string' }, threshold: { type: 'string' },
      seed: { type: 'string' }, threads: { type: 'string' }, isa: { type: 'string' }, backend: { type: 'string' },
      out: { type: 'string' }, graph: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, dir] = positionals;
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
