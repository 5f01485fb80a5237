/** The messages between a job runner and the process that trains (job-process.ts), over the IPC channel. */
import type { Accuracy, JobRecord } from './store';

export interface StartMessage {
  type: 'start';
  job: JobRecord;
  repositoryRoot: string;
  threads: number;
  /** The niceness the trainer runs at, so serving keeps the CPU first. */
  nice: number;
}

/** cancel: end at the next step, dropping the work; stop: checkpoint at the next step and exit (the job resumes later). */
export type ControlMessage = StartMessage | { type: 'cancel' } | { type: 'stop' };

export type ReportMessage =
  | { type: 'started'; resumed: boolean; step: number; total: number; baseline: Record<string, Accuracy> | null }
  | { type: 'progress'; step: number; total: number; loss: number; actSteps: number | null; stepsPerSecond: number; etaSeconds: number }
  | { type: 'evaluated'; step: number; sets: Record<string, Accuracy> }
  | { type: 'checkpoint'; step: number }
  | { type: 'done'; checkpoint: string; heldOut: Record<string, Accuracy>; baseline: Record<string, Accuracy> | null; trainingSeconds: number; step: number }
  | { type: 'cancelled'; step: number }
  | { type: 'stopped'; step: number }
  | { type: 'failed'; error: string };
