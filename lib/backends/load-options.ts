/**
 * The load options, checked in one place: each option's own rule (RULES), then what the
 * chosen backend takes on the chosen device (its registry entry). A new option is one rule
 * here and its name in the registry entries that read it; a new precision is one word in
 * PRECISIONS and in the entries that run it.
 */
import { OptionError } from '../errors';
import { PRECISIONS, type Device, type Precision } from '../types';
import type { LoadOptionName, ResolvedLoadOptions } from './backend';
import { backendFactory, registeredBackends } from './registry';
import { resolveThreads, threadsExpected } from './threads';
import { MAX_STEPS_LIMIT } from '../request';

export const DEVICES: readonly Device[] = ['cpu', 'cuda'];
export { PRECISIONS };

interface Rule {
  /** What a wrong value is called in the error. */
  message: string;
  /** A description of the allowed values, or null when `value` is one of them. */
  check(value: unknown): string | null;
}

const quoted = (list: readonly string[]) => list.map((v) => `'${v}'`).join(', ');
const oneOf = (message: string, list: () => readonly string[]): Rule => ({
  message,
  check: (v) => (typeof v === 'string' && list().includes(v) ? null : `one of ${quoted(list())}`),
});

function integerIn(min: number, max: number): Rule {
  return { message: 'invalid option', check: (v) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `an integer in [${min}, ${max}]`) };
}

const RULES: Record<LoadOptionName, Rule> = {
  backend: oneOf('unknown backend', registeredBackends),
  device: oneOf('unknown device', () => DEVICES),
  precision: oneOf('unknown precision', () => PRECISIONS),
  threads: { message: 'invalid option', check: (v) => threadsExpected(v) },
  isa: { message: 'invalid option', check: (v) => (typeof v === 'string' ? null : 'a string') },
  gradients: { message: 'invalid option', check: (v) => (typeof v === 'boolean' ? null : 'true or false') },
  maxBatch: integerIn(1, 2 ** 31 - 1),
  maxStepsLimit: integerIn(1, MAX_STEPS_LIMIT),
};

/** Options any backend accepts: they choose the backend or concern the model, not the kernels. */
const ALWAYS = new Set<LoadOptionName>(['backend', 'device', 'gradients', 'maxBatch', 'maxStepsLimit']);

export function resolveLoadOptions(options: unknown): ResolvedLoadOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw new OptionError('options must be an object', { field: 'options', value: options });
  const given = Object.keys(o).filter((k) => o[k] !== undefined) as LoadOptionName[];
  for (const key of given) {
    const rule = RULES[key];
    if (rule === undefined) throw new OptionError('unknown option', { field: key, value: o[key], expected: Object.keys(RULES).join(', ') });
    const expected = rule.check(o[key]);
    if (expected !== null) throw new OptionError(rule.message, { field: key, value: o[key], expected });
  }
  const backend = (o.backend as string | undefined) ?? 'native';
  const device = (o.device as Device | undefined) ?? 'cpu';
  const support = backendFactory(backend)!.devices[device];
  if (support === undefined) {
    throw new OptionError(`device '${device}' runs the ${quoted(runnersOf(device))} backend only`, {
      field: 'device', value: device, expected: `${quoted(devicesOf(backend))} (or undefined) with backend '${backend}'`,
    });
  }
  for (const key of given) {
    // isa 'auto' asks for nothing, so it is harmless anywhere.
    if (ALWAYS.has(key) || support.options.includes(key) || (key === 'isa' && o.isa === 'auto')) continue;
    throw new OptionError(`${key} does not apply to backend '${backend}' on device '${device}'`, {
      field: key, value: o[key], expected: `undefined with backend '${backend}' on device '${device}'`,
    });
  }
  const precision = (o.precision as Precision | undefined) ?? 'fp32';
  if (!support.precisions.includes(precision)) {
    throw new OptionError(`precision '${precision}' does not run on backend '${backend}' on device '${device}'`, {
      field: 'precision', value: precision, expected: `${quoted(support.precisions)} (or undefined) with backend '${backend}' on device '${device}'`,
    });
  }
  const out: ResolvedLoadOptions = { backend, device, threads: resolveThreads(o.threads), precision, gradients: o.gradients === true };
  if (o.isa !== undefined) out.isa = o.isa as string;
  if (o.maxBatch !== undefined) out.maxBatch = o.maxBatch as number;
  if (o.maxStepsLimit !== undefined) out.maxStepsLimit = o.maxStepsLimit as number;
  return out;
}

function runnersOf(device: Device): string[] {
  return registeredBackends().filter((name) => backendFactory(name)!.devices[device] !== undefined);
}

function devicesOf(backend: string): string[] {
  return Object.keys(backendFactory(backend)!.devices);
}
