/** `trm run DIR`: random (or given) tokens through the model, printing the per-step trace. */
import { loadModel } from '../index';
import { SeededRandom } from '../util/seeded-random';
import { Command, LOAD_FLAGS, STOP_FLAGS, intFlag, loadOptions, msSince, numberFlag, stopOptions } from './common';

export const runCommand: Command = {
  usage: `  trm run DIR [options]             run the model on random inputs and print the trace
    --batch N        samples (default 4)
    --inputs LIST    one sample's tokens, comma-separated (instead of random inputs)
    --steps N        max ACT steps (default: the model's halt_max_steps)
    --threshold T    adaptive halting: stop a sample once sigmoid(q_halt) > T
    --seed N         seed of the random inputs (default 1)
    --confidence C, --stable-steps K: stop also by these rules; --h-cycles N, --l-cycles N: the depth`,
  loadsModel: true,
  stopping: true,
  flags: {
    ...LOAD_FLAGS, ...STOP_FLAGS, batch: { type: 'string' }, inputs: { type: 'string' }, steps: { type: 'string' }, threshold: { type: 'string' }, seed: { type: 'string' },
  },
  positionals: { min: 1, max: 1, names: 'DIR' },
  async run([dir], values) {
    const model = await loadModel(dir, loadOptions(values));
    const { seq_len: S, vocab_size: V } = model.config;
    let inputs: Int32Array;
    if (typeof values.inputs === 'string') {
      inputs = Int32Array.from(values.inputs.split(',').map((t) => Number(t.trim())));
    } else {
      const batch = intFlag(values, 'batch', 1) ?? 4;
      const rng = new SeededRandom(intFlag(values, 'seed') ?? 1, 'cli');
      inputs = Int32Array.from({ length: batch * S }, () => rng.nextU32() % V);
    }
    const threshold = numberFlag(values, 'threshold', 0, 1) ?? null;
    const stopping = stopOptions(values);
    const start = process.hrtime.bigint();
    const r = await model.infer({ inputs }, { ...stopping, maxSteps: intFlag(values, 'steps'), haltThreshold: threshold, trace: true });
    const ms = msSince(start);
    console.log(`${dir}: batch ${r.batch}, ${model.info.backend} backend, ${model.info.isa}, ${model.info.threads} thread(s)`);
    console.log('step | ' + Array.from({ length: r.batch }, (_, b) => `sample ${b}: changed  conf  p(halt)`).join(' | '));
    for (const rec of r.trace!) {
      const cells = Array.from({ length: r.batch }, (_, b) =>
        `${rec.halted[b] && rec.step > r.steps[b] ? '  (halted)' : String(rec.changed[b]).padStart(10)} ${rec.confidence[b].toFixed(3)} ${rec.haltProbability[b].toFixed(3)}`.padEnd(33));
      console.log(`${String(rec.step).padStart(4)} | ${cells.join(' | ')}`);
    }
    for (let b = 0; b < r.batch; b++) {
      console.log(`sample ${b}: stopped by ${r.stoppedBy[b]} after ${r.steps[b]} step(s); prediction ${Array.from(r.predictions.subarray(b * S, (b + 1) * S)).join(' ')}`);
    }
    console.log(`${ms.toFixed(1)} ms for the whole call`);
    model.dispose();
  },
};
