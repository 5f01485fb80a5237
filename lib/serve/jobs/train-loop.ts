/**
 * The run policy of a job's training: step until `until`, evaluate and checkpoint every
 * `evalEvery` steps and at the end, stop (after a checkpoint) when asked. This is the
 * loop `trm train` runs in lib/cli/train.ts; it lives here, in one small file, until
 * `Trainer.run({ until, evalEvery, timeLimit, onCheckpoint })` lands in lib/train, and then
 * this file becomes a call to it.
 */
import type { HeldOutReport, StepReport, Trainer } from '../../train/trainer';

export interface TrainLoopOptions {
  until: number;
  evalEvery: number;
  onStep?(report: StepReport): void;
  /** Held-out evaluation at each regular checkpoint (before it is written; not on a stop). */
  evaluate?(): Promise<void>;
  onCheckpoint(): void;
  /** Asked after every step: 'cancel' ends at once, 'stop' after a checkpoint. */
  control(): 'go' | 'cancel' | 'stop';
}

export type TrainLoopEnd = 'done' | 'cancelled' | 'stopped';

export async function runTrainLoop(trainer: Trainer, options: TrainLoopOptions): Promise<TrainLoopEnd> {
  while (trainer.step < options.until) {
    const report = await trainer.trainStep();
    options.onStep?.(report);
    const asked = options.control();
    if (asked === 'cancel') return 'cancelled';
    if (trainer.step % options.evalEvery === 0 || trainer.step === options.until) {
      await options.evaluate?.();
      options.onCheckpoint();
    } else if (asked === 'stop') {
      options.onCheckpoint();
    }
    if (asked === 'stop') return 'stopped';
  }
  return 'done';
}
