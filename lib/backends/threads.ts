/** The thread-count rule every CPU engine shares (the native model, onnxruntime, the gradient engine). */
import * as os from 'node:os';
import { OptionError } from '../errors';

export const THREADS_RANGE = [1, 1024] as const;

/** null when `v` is a valid thread count, else what was expected. */
export function threadsExpected(v: unknown): string | null {
  const [lo, hi] = THREADS_RANGE;
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? null : `an integer in [${lo}, ${hi}]`;
}

/** Worker threads: the value checked, or every core by default. */
export function resolveThreads(value: unknown, field = 'threads'): number {
  const n = value ?? (os.availableParallelism?.() ?? os.cpus().length);
  const expected = threadsExpected(n);
  if (expected !== null) throw new OptionError('invalid option', { field, value, expected });
  return n as number;
}
