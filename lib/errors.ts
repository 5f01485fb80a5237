/**
 * One error type per kind of failure. Every error names the field (a file, a config key,
 * a tensor, an option), the value it got and what was expected, so that a caller can act
 * on it without reading our source.
 */

export interface TrmErrorDetails {
  /** The config key, tensor name, option or input field at fault. */
  field?: string;
  /** What was found (stringified for the message). */
  value?: unknown;
  /** What was expected instead, in words. */
  expected?: string;
  /** The file involved, when there is one. */
  file?: string;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describeValue).join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export class TrmError extends Error {
  readonly field?: string;
  readonly value?: unknown;
  readonly expected?: string;
  readonly file?: string;

  constructor(message: string, details: TrmErrorDetails = {}) {
    const parts = [message];
    if (details.field !== undefined) parts.push(`field: ${details.field}`);
    if ('value' in details) parts.push(`got: ${describeValue(details.value)}`);
    if (details.expected !== undefined) parts.push(`expected: ${details.expected}`);
    if (details.file !== undefined) parts.push(`file: ${details.file}`);
    super(parts.join('; '));
    this.name = new.target.name;
    this.field = details.field;
    this.value = details.value;
    this.expected = details.expected;
    this.file = details.file;
  }
}

/** A model directory, config or weight file that cannot be used as it is. */
export class ModelFormatError extends TrmError {}

/** Inputs to `infer` (tokens, puzzle ids, carry) that do not fit the model. */
export class InputError extends TrmError {}

/** An option to `loadModel` or `infer` outside its allowed values. */
export class OptionError extends TrmError {}

/**
 * A call larger than the model's load-time limits allow (`maxBatch` samples, `maxStepsLimit`
 * ACT steps), refused before any work: `field` is the request's field, `value` what it asked
 * for, `limit` the cap and `option` the load option that set it.
 */
export class LimitError extends TrmError {
  readonly limit: number;
  readonly option: string;

  constructor(message: string, details: TrmErrorDetails & { limit: number; option: string }) {
    super(message, { ...details, expected: details.expected ?? `at most ${details.limit} (load option ${details.option})` });
    this.limit = details.limit;
    this.option = details.option;
  }
}

/** A backend that cannot run here (addon missing, ISA not supported, model disposed). */
export class BackendError extends TrmError {}

/**
 * A dataset file (JSONL) that cannot be used as it is. The message starts with the 1-based
 * line and the field at fault ("line 12: labels[3]: ..."), and ends with the file.
 */
export class DatasetError extends TrmError {
  readonly line?: number;

  constructor(message: string, details: TrmErrorDetails & { line?: number } = {}) {
    const where = [details.line !== undefined ? `line ${details.line}` : undefined, details.field].filter((p) => p !== undefined).join(': ');
    super(where ? `${where}: ${message}` : message, details);
    this.line = details.line;
  }
}
