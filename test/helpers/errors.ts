/** The thrown-error helpers every error test uses (one copy, not one per file). */
import { expect } from 'vitest';

/** The error `fn` throws; fails the test when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, got none');
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, got a result');
}

/**
 * Expects `error` to be a `type`, naming `field` (a string: the error's `field`; a RegExp:
 * matched against its message). Returns it, typed.
 */
export function expectError<T extends Error>(error: unknown, type: new (...a: never[]) => T, field?: string | RegExp): T {
  expect(error).toBeInstanceOf(type);
  const err = error as T & { field?: string };
  if (typeof field === 'string') expect(err.field).toBe(field);
  else if (field !== undefined) expect(err.message).toMatch(field);
  return err;
}

/** `expectError(thrown(fn), type, field)`. */
export function expectThrows<T extends Error>(fn: () => unknown, type: new (...a: never[]) => T, field?: string | RegExp): T {
  return expectError(thrown(fn), type, field);
}
