/**
 * The process a job trains in (forked by runner.ts): out of the server's event loop and
 * its threads, at a lower priority, so serving stays responsive while it trains. It gets one
 * `start` message, reports progress, and ends with done, cancelled, stopped or failed.
 * Checkpoints go to the job's folder at every evaluation; if the runner goes away (the
 * server was killed), the channel closes and this process exits at once: the next server
 * resumes the job from its last checkpoint, bit-identically (lib/train/checkpoint.ts).
 */
import * as os from 'node:os';
import { OptionError, TrmError } from '../../errors';
import { saveCheckpoint } from '../../train/checkpoint';
import { createModel } from '../../trm-model';
import type { ControlMessage, ReportMessage, StartMessage } from './messages';
import { JobStore } from './store';
import { runTrainLoop } from './train-loop';
import { jobFiles, planRun, scoreModel } from './training-plan';

const PROGRESS_EVERY_MS = 250;

function send(message: ReportMessage): void {
  process.send?.(message);
}

/** The last message, delivered before the process exits (a send is asynchronous). */
function sendLast(message: ReportMessage): void {
  if (!process.send) process.exit(0);
  process.send(message, undefined, {}, () => process.exit(0));
}

let asked: 'go' | 'cancel' | 'stop' = 'go';

async function run(start: StartMessage): Promise<void> {
  try {
    os.setPriority(process.pid, start.nice);
  } catch {
    // Not allowed to lower our own priority: train at the server's.
  }
  const { job } = start;
  const store = new JobStore(start.repositoryRoot);
  const files = jobFiles(store.jobDir(job.id));
  const plan = await planRun(job, files, {
    repositoryRoot: start.repositoryRoot,
    threads: start.threads,
    dataset: (id) => {
      const record = store.dataset(id);
      if (!record) throw new OptionError('unknown dataset', { field: 'dataset', value: id, expected: 'an id from POST /v1/datasets' });
      return { record, file: store.datasetFile(id) };
    },
    feedback: (model) => store.feedback(model),
  });
  store.close();
  const { trainer } = plan;
  const total = trainer.recipe.steps;
  send({ type: 'started', resumed: plan.resumed, step: trainer.step, total, baseline: plan.baseline });
  let lastSets: Record<string, { exact: number; correct: number; count: number }> = {};
  const window = { steps: 0, loss: 0, halted: 0, actSteps: 0 };
  const sessionStartStep = trainer.step;
  const sessionStart = Date.now();
  let lastSent = 0;
  const evaluate = async () => {
    if (Object.keys(plan.heldOut).length === 0) return;
    const model = createModel(trainer.config, trainer.modelWeights(), { threads: trainer.threads });
    try {
      lastSets = await scoreModel(model, plan.heldOut);
    } finally {
      model.dispose();
    }
    send({ type: 'evaluated', step: trainer.step, sets: lastSets });
  };
  const end = await runTrainLoop(trainer, {
    until: total,
    evalEvery: job.spec.evalEvery,
    onStep: (r) => {
      window.steps++;
      window.loss += r.loss;
      window.halted += r.halted;
      window.actSteps += r.haltedSteps;
      const t = Date.now();
      if (t - lastSent < PROGRESS_EVERY_MS && r.step !== total) return;
      lastSent = t;
      const rate = (r.step - sessionStartStep) / Math.max(1e-3, (t - sessionStart) / 1000);
      send({
        type: 'progress', step: r.step, total, loss: window.loss / window.steps, actSteps: window.halted > 0 ? window.actSteps / window.halted : null,
        stepsPerSecond: rate, etaSeconds: (total - r.step) / Math.max(rate, 1e-9),
      });
      window.steps = window.loss = window.halted = window.actSteps = 0;
    },
    evaluate,
    onCheckpoint: () => {
      saveCheckpoint(files.checkpoint, trainer, plan.data);
      send({ type: 'checkpoint', step: trainer.step });
    },
    control: () => asked,
  });
  // Resumed from the final checkpoint (the last start died while publishing): the scores
  // are not in the checkpoint, so they are measured again, on the same weights.
  if (end === 'done' && Object.keys(lastSets).length === 0) await evaluate();
  const step = trainer.step;
  const trainingSeconds = trainer.elapsedSeconds;
  trainer.dispose();
  if (end === 'cancelled') sendLast({ type: 'cancelled', step });
  else if (end === 'stopped') sendLast({ type: 'stopped', step });
  else sendLast({ type: 'done', checkpoint: files.checkpoint, heldOut: lastSets, baseline: plan.baseline, trainingSeconds, step });
}

process.on('message', (message: ControlMessage) => {
  if (message.type === 'cancel') asked = 'cancel';
  else if (message.type === 'stop') asked = asked === 'cancel' ? 'cancel' : 'stop';
  else if (message.type === 'start') {
    run(message).catch((e: unknown) => {
      sendLast({ type: 'failed', error: e instanceof TrmError ? `${e.name}: ${e.message}` : `internal error: ${(e as Error).stack ?? String(e)}` });
    });
  }
});
// The runner is gone (the server died or was killed): stop now; the job resumes from its checkpoint.
process.on('disconnect', () => process.exit(0));
