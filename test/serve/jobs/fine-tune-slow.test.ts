/**
 * The slow check (TRM_SLOW=1, `npm run test:slow`): a fine-tune on harder puzzles than the
 * model saw. The shipped sudoku-4x4 trained on 6-10 blanks; the feedback is 1000 puzzles
 * with 12 blanks (every 5th held out). The job trains on them mixed with as many replayed
 * original training examples, and must raise exact accuracy on the held-out feedback without
 * lowering it on the original held-out set (256 puzzles of the training distribution); with
 * promote "if-better", `current` then moves to the new version. The figures are printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { jobsPlugin } from '../../../lib/serve/jobs/plugin';
import { getTask } from '../../../lib/tasks';
import { JOBS_BUILT, NOT_BUILT, ended, injectGet, pollJob, submit } from '../../helpers/jobs';
import { AUTH, cleanup, makeRepository, makeServer } from '../../helpers/serve';

const slow = process.env.TRM_SLOW !== undefined && process.env.TRM_SLOW !== '' && process.env.TRM_SLOW !== '0';
if (slow && !JOBS_BUILT) console.log(NOT_BUILT);
afterAll(cleanup);

describe.skipIf(!slow || !JOBS_BUILT)('fine-tune on feedback (slow)', () => {
  it('raises accuracy on 12-blank puzzles without lowering it on the original held-out set', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const app = await makeServer({ repository: root, plugins: [jobsPlugin({ trainThreads: 2 })], threads: 1 });
    const hard = getTask('sudoku4').generate(1000, 77, { minBlanks: 12, maxBlanks: 12 });
    const sent = await app.inject({
      method: 'POST', url: '/v1/models/sudoku4/feedback', headers: AUTH,
      payload: { examples: hard.map((e) => ({ input: Array.from(e.inputs), label: Array.from(e.labels) })) },
    });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().total).toBe(1000);
    const job = await submit(app, {
      kind: 'fine-tune', model: 'sudoku4', recipe: { steps: 300, batch: 64, lr: 5e-4, warmupSteps: 20, emaRate: 0.99 },
      evalCount: 256, evalEvery: 100, replay: 1, promote: 'if-better',
    });
    const done = await pollJob(injectGet(app), job.id, ended, 1500);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const { heldOut, baseline } = done.result!;
    console.log(`fine-tune: held-out feedback (12 blanks, ${heldOut!.feedback.count}): ${baseline!.feedback.exact} -> ${heldOut!.feedback.exact}; ` +
      `original held-out (${heldOut!.original.count}): ${baseline!.original.exact} -> ${heldOut!.original.exact}; ${done.result!.trainingSeconds} s; ${done.result!.promoteReason}`);
    expect(heldOut!.feedback.count).toBe(200);
    expect(heldOut!.feedback.exact).toBeGreaterThan(baseline!.feedback.exact);
    expect(heldOut!.original.exact).toBeGreaterThanOrEqual(baseline!.original.exact);
    expect(done.result!.promoted).toBe(true);
    const served = await app.inject({ method: 'POST', url: '/v1/models/sudoku4/analyze', payload: { input: Array.from(hard[4].inputs) } });
    expect(served.json().version).toBe(2);
  }, 1_800_000);
});
