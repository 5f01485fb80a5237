/**
 * Worker safety. Terminating a worker_thread while its model's infer was in flight used to
 * abort the whole process (`terminate called after throwing an instance of 'Napi::Error'`:
 * the completion ran while Node tore the worker down and an N-API failure was thrown out
 * of it). Here a pool of 4 workers, each with its own model, is terminated mid-call 200
 * times (async infer, inferSync, dispose under an in-flight call, a gradient step): the
 * process must live, every answer must equal the main thread's bit for bit, and RSS must
 * stay flat after warm-up. `npm test` runs 40 terminations (liveness and answers); the
 * full 200 with the RSS bound run under TRM_SLOW=1 (`npm run test:slow`; 50 s on a busy
 * 2-core machine).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeSpec } from '../../lib/backends/native';
import { readModelDirectory } from '../../lib/model/directory';
import { addonPath, loadAddon, type NativeRequest, type NativeStepRequest } from '../../lib/native/addon';
import { REPO_ROOT } from '../helpers/paths';
import { churn, median, type ChurnSetup } from './worker-churn';

const slow = process.env.TRM_SLOW !== undefined && process.env.TRM_SLOW !== '' && process.env.TRM_SLOW !== '0';
const TERMINATIONS = slow ? 200 : 40;
// Warm-up: V8 and glibc settle their per-thread arenas over the first workers.
const WARM_UP = 60;
// RSS after the last 40 terminations may exceed that after warm-up by at most this fraction.
// A per-worker leak of one model (~1 MB of weights, packed) would add 100+ MB over 140
// workers; noise measured on this machine is a few MB.
const RSS_GROWTH_BOUND = 0.1;

const { config, weights } = readModelDirectory(path.join(REPO_ROOT, 'models', 'sudoku-9x9'));
const batch = 4;
const inputs = Int32Array.from({ length: batch * config.seq_len }, (_, i) => (i * 7 + 1) % config.vocab_size);
const request: NativeRequest = {
  batch, inputs, maxSteps: config.halt_max_steps, minSteps: 1, haltThreshold: null, trace: false, traceLogits: false, returnCarry: false,
};
const stepRequest: NativeStepRequest = { batch, inputs, labels: inputs };
const setup: ChurnSetup = { addon: addonPath(), spec: nativeSpec(config), weights, request, stepRequest };

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('worker_threads terminated mid-call', () => {
  it(`a pool of 4 workers terminated ${TERMINATIONS} times: the process lives, answers match the main thread${slow ? ', RSS stays flat' : ''}`, async () => {
    const addon = loadAddon();
    const reference = new addon.NativeModel(setup.spec, weights, { threads: 1 }).inferSync(request);
    const referenceLoss = new addon.GradientEngine(setup.spec, weights, { threads: 1 }).stepSync(stepRequest).loss;

    const report = await churn(setup, TERMINATIONS);

    expect(report.failures).toEqual([]);
    expect(report.terminated).toBe(TERMINATIONS);
    expect(report.answers.length).toBeGreaterThan(TERMINATIONS / 2);
    for (const answer of report.answers) {
      expect(bytes(answer.predictions).equals(bytes(reference.predictions))).toBe(true);
      expect(bytes(answer.logits).equals(bytes(reference.logits))).toBe(true);
      expect(bytes(answer.steps).equals(bytes(reference.steps))).toBe(true);
      expect(bytes(answer.qHalt).equals(bytes(reference.qHalt))).toBe(true);
    }
    expect(report.losses.length).toBeGreaterThan(0);
    for (const loss of report.losses) expect(loss).toBe(referenceLoss);

    if (!slow) return;
    const after = median(report.rss.slice(WARM_UP, WARM_UP + 40));
    const end = median(report.rss.slice(-40));
    const growth = (end - after) / after;
    console.log(`worker churn: ${TERMINATIONS} terminations, RSS after warm-up ${(after / 2 ** 20).toFixed(1)} MiB, `
      + `at the end ${(end / 2 ** 20).toFixed(1)} MiB, growth ${(growth * 100).toFixed(1)}% (bound ${RSS_GROWTH_BOUND * 100}%)`);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
  });
});
