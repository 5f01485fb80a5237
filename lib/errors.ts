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
  /** The message without the details (what went wrong, in words). */
  readonly summary: string;

  constructor(message: string, details: TrmErrorDetails = {}) {
    const parts = [message];
    if (details.field !== undefined) parts.push(`field: ${details.field}`);
    if ('value' in details) parts.push(`got: ${describeValue(details.value)}`);
    if (details.expected !== undefined) parts.push(`expected: ${details.expected}`);
    if (details.file !== undefined) parts.push(`file: ${details.file}`);
    super(parts.join('; '));
    this.name = new.target.name;
    this.summary = message;
    this.field = details.field;
    this.value = details.value;
    this.expected = details.expected;
    this.file = details.file;
  }
}

/** A model directory, config or weight file that cannot be used as it is. */
export class ModelFormatError extends TrmError {}

/**
 * A model whose architecture cannot be completed: keys that neither the config files given
 * nor the weights' shapes say. `missing` lists each key with where it can come from.
 */
export class MissingConfigError extends ModelFormatError {
  readonly missing: ReadonlyArray<{ key: string; from: string }>;

  constructor(missing: ReadonlyArray<{ key: string; from: string }>, details: TrmErrorDetails = {}) {
    super(`the architecture lacks ${missing.map((m) => m.key).join(', ')}: ${missing.map((m) => `${m.key} comes from ${m.from}`).join('; ')}`,
      { field: missing.map((m) => m.key).join(', '), expected: 'a value for each key, from --config FILE (JSON or YAML)', ...details });
    this.missing = missing;
  }
}

/** Inputs to `infer` (tokens, puzzle ids, carry) that do not fit the model. */
export class InputError extends TrmError {}

/** An option to `loadModel` or `infer` outside its allowed values. */
export class OptionError extends TrmError {}

/**
 * A call or request over a limit, refused before any work: the model's load-time caps
 * (`maxBatch` samples, `maxStepsLimit` ACT steps: then `limit` is the cap and `option` the load
 * option that set it) or the service's (body bytes, samples or steps per request; HTTP 413).
 * `field` is the request's field and `value` what it asked for.
 */
export class LimitError extends TrmError {
  readonly limit?: number;
  readonly option?: string;

  constructor(message: string, details: TrmErrorDetails & { limit?: number; option?: string }) {
    const cap = details.limit === undefined ? undefined : `at most ${details.limit}${details.option === undefined ? '' : ` (load option ${details.option})`}`;
    super(message, { ...details, expected: details.expected ?? cap });
    if (details.limit !== undefined) this.limit = details.limit;
    if (details.option !== undefined) this.option = details.option;
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

/** A model, version or alias the repository does not hold (HTTP 404). */
export class NotFoundError extends TrmError {}

/**
 * A request that conflicts with the repository's state: deleting a version an alias names or
 * a request is using, publishing into a read-only repository (HTTP 409).
 */
export class ConflictError extends TrmError {}

/**
 * The service cannot take the request now: not ready, draining, queue full, timed out
 * (HTTP 503). `retryAfterSeconds` is what the Retry-After header says.
 */
export class UnavailableError extends TrmError {
  readonly retryAfterSeconds: number;

  constructor(message: string, details: TrmErrorDetails & { retryAfterSeconds?: number } = {}) {
    super(message, details);
    this.retryAfterSeconds = details.retryAfterSeconds ?? 1;
  }
}

/** A missing or wrong bearer token (HTTP 401). */
export class AuthError extends TrmError {}
