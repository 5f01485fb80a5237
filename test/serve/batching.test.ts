/**
 * The dynamic batcher on a real model: concurrent requests with mixed options batch only
 * with compatible ones, and each caller's result equals running its samples alone, bit for
 * bit (predictions, logits, steps, q values and trace). Also the queue bound, the deadline,
 * the batch size limit and the unbatched mode.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, UnavailableError, type InferResult } from '../../lib';
import { DynamicBatcher, sliceResult, type BatchSettings, type Samples } from '../../lib/serve/batcher';
import { getTask } from '../../lib/tasks';
import { SHIPPED } from '../helpers/serve';

const model = await loadModel(path.join(SHIPPED, 'sudoku-4x4'), { threads: 2 });
afterAll(() => model.dispose());
const S = model.config.seq_len;
const puzzles = getTask('sudoku4').generate(48, 11).map((e) => e.inputs);

const settings = (over: Partial<BatchSettings> = {}): BatchSettings => ({ enabled: true, windowMs: 5, maxBatch: 64, maxQueue: 1024, timeoutMs: 30_000, ...over });
const run = (samples: Samples, options: Record<string, unknown>) => model.infer({ inputs: samples.inputs, puzzleIdentifiers: samples.puzzleIdentifiers }, options);
const samplesOf = (rows: Int32Array[]): Samples => {
  const inputs = new Int32Array(rows.length * S);
  rows.forEach((r, i) => inputs.set(r, i * S));
  return { count: rows.length, inputs, puzzleIdentifiers: new Int32Array(rows.length) };
};

/** Every field, typed arrays as plain lists, so toEqual compares each element exactly. */
function plain(r: InferResult): unknown {
  const convert = (v: unknown): unknown => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : Array.isArray(v) ? v.map(convert)
    : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)])) : v);
  return convert(r);
}

const OPTION_SETS: Array<Record<string, unknown>> = [
  {},
  { haltThreshold: 0.5, trace: true },
  { haltThreshold: 0.5, minSteps: 2, maxSteps: 6, trace: 'logits' },
  { maxSteps: 3 },
];

describe('dynamic batching', () => {
  it('gives every request its lone result bit for bit, batching only compatible options', async () => {
    const batches: Array<{ samples: number; requests: number }> = [];
    const calls: Array<{ count: number; options: string }> = [];
    const batcher = new DynamicBatcher((samples, options) => {
      calls.push({ count: samples.count, options: JSON.stringify(options) });
      return run(samples, options);
    }, settings(), { batch: (samples, requests) => batches.push({ samples, requests }) });
    const jobs = Array.from({ length: 40 }, (_, i) => {
      const rows = puzzles.slice(i, i + 1 + (i % 3));
      return { rows, options: OPTION_SETS[i % OPTION_SETS.length] };
    });
    const results = await Promise.all(jobs.map((j) => batcher.submit(samplesOf(j.rows), j.options)));
    for (let i = 0; i < jobs.length; i++) {
      const alone = await model.infer({ inputs: jobs[i].rows }, jobs[i].options);
      expect(plain(results[i]), `request ${i}`).toEqual(plain(alone));
    }
    // Batching happened, and each batch went out with one option set.
    expect(Math.max(...batches.map((b) => b.requests))).toBeGreaterThan(4);
    const submitted = new Map<string, number>();
    for (const j of jobs) submitted.set(JSON.stringify(j.options), (submitted.get(JSON.stringify(j.options)) ?? 0) + j.rows.length);
    const ran = new Map<string, number>();
    for (const c of calls) ran.set(c.options, (ran.get(c.options) ?? 0) + c.count);
    expect(ran).toEqual(submitted);
    expect(calls.length).toBeGreaterThanOrEqual(OPTION_SETS.length);
  });

  it('holds batches to maxBatch samples, and runs a larger request alone', async () => {
    const sizes: number[] = [];
    const batcher = new DynamicBatcher(run, settings({ maxBatch: 4 }), { batch: (n) => sizes.push(n) });
    const small = Array.from({ length: 12 }, (_, i) => batcher.submit(samplesOf([puzzles[i]]), {}));
    const large = batcher.submit(samplesOf(puzzles.slice(0, 6)), {});
    await Promise.all([...small, large]);
    expect(sizes.filter((n) => n !== 6).every((n) => n <= 4)).toBe(true);
    expect(sizes).toContain(6);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(18);
  });

  it('refuses past the queue bound with a retry hint, and serves the rest', async () => {
    const batcher = new DynamicBatcher(run, settings({ maxQueue: 3, windowMs: 20 }));
    const accepted = [0, 1, 2].map((i) => batcher.submit(samplesOf([puzzles[i]]), {}));
    const refused = batcher.submit(samplesOf([puzzles[3]]), {});
    await expect(refused).rejects.toBeInstanceOf(UnavailableError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 1 });
    expect((await Promise.all(accepted)).map((r) => r.batch)).toEqual([1, 1, 1]);
    expect(batcher.queued).toBe(0);
  });

  it('answers a request past its deadline with an error and drops it from the queue', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const batcher = new DynamicBatcher(async (samples, options) => {
      await gate;
      return run(samples, options);
    }, settings({ timeoutMs: 50, windowMs: 0 }));
    // The first runs (held at the gate), the second waits behind it; both pass their deadline.
    const first = batcher.submit(samplesOf([puzzles[0]]), {}).catch((e: unknown) => e);
    const queued = batcher.submit(samplesOf([puzzles[1]]), {}).catch((e: unknown) => e);
    expect(await queued).toMatchObject({ message: expect.stringMatching(/timed out/) });
    expect(batcher.queued).toBe(0);
    expect(await first).toBeInstanceOf(UnavailableError);
    release();
    await batcher.idle();
    const later = await new DynamicBatcher(run, settings()).submit(samplesOf([puzzles[2]]), {});
    expect(later.batch).toBe(1);
  });

  it('runs each request alone when batching is off', async () => {
    const requests: number[] = [];
    const batcher = new DynamicBatcher(run, settings({ enabled: false }), { batch: (_n, r) => requests.push(r) });
    const results = await Promise.all(puzzles.slice(0, 8).map((p) => batcher.submit(samplesOf([p]), { maxSteps: 2 })));
    expect(requests).toEqual(new Array(8).fill(1));
    const alone = await model.infer({ inputs: [puzzles[5]] }, { maxSteps: 2 });
    expect(plain(results[5])).toEqual(plain(alone));
  });

  it('a failing batch fails each of its requests, and the batcher goes on', async () => {
    let fail = true;
    const batcher = new DynamicBatcher(async (samples, options) => {
      if (fail) throw new Error('boom');
      return run(samples, options);
    }, settings());
    const failed = await Promise.allSettled([0, 1].map((i) => batcher.submit(samplesOf([puzzles[i]]), {})));
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect((await batcher.submit(samplesOf([puzzles[0]]), {})).batch).toBe(1);
  });
});

describe('sliceResult', () => {
  it('cuts any per-sample field, including ones the library may add, and the trace to the steps run', () => {
    const result = {
      batch: 3, seqLen: 2, vocabSize: 2,
      predictions: Int32Array.from([1, 1, 2, 2, 3, 3]),
      logits: new Float32Array(12).map((_, i) => i),
      steps: Int32Array.from([1, 3, 2]),
      qHalt: Float32Array.from([0.1, 0.2, 0.3]),
      qContinue: Float32Array.from([0, 0, 0]),
      haltProbability: Float32Array.from([0.5, 0.6, 0.7]),
      stoppedBy: ['halt', 'maxSteps', 'halt'],
      trace: [1, 2, 3].map((step) => ({ step, qHalt: Float32Array.from([step, step, step]), halted: Uint8Array.from([1, 0, 0]) })),
    } as unknown as InferResult;
    const cut = sliceResult(result, 2, 1) as InferResult & { stoppedBy: string[] };
    expect(cut.batch).toBe(1);
    expect(Array.from(cut.predictions)).toEqual([3, 3]);
    expect(Array.from(cut.logits)).toEqual([8, 9, 10, 11]);
    expect(cut.stoppedBy).toEqual(['halt']);
    expect(cut.trace!.map((t) => t.step)).toEqual([1, 2]);
    expect(sliceResult(result, 0, 2).trace).toHaveLength(3);
  });
});
