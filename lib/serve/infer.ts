/**
 * One inference as both protocols run it: the samples and options checked by the library's
 * own rules (lib/request.ts) before they reach the batcher, so a bad request is refused on
 * its own and never fails a batch it would have joined.
 */
import type { FastifyRequest } from 'fastify';
import { OptionError } from '../errors';
import { normalizeInput, normalizeOptions } from '../request';
import type { Samples } from './batcher';
import { checkSampleCount, checkWork, type ServeLimits } from './limits';
import type { LoadedVersion } from './repository';

/** Library options that make no sense over HTTP: a carry is a pair of large float arrays kept in memory. */
const NOT_OVER_HTTP = new Set(['returnCarry', 'carry']);

export function checkedSamples(version: LoadedVersion, inputs: Int32Array | ArrayLike<number>[], puzzleIdentifiers: Int32Array | number[] | undefined, limits: ServeLimits, field: string): Samples {
  const count = inputs instanceof Int32Array ? Math.floor(inputs.length / version.config.seq_len) : inputs.length;
  checkSampleCount(count, limits, field);
  const request = normalizeInput({ inputs, ...(puzzleIdentifiers !== undefined && { puzzleIdentifiers }) }, version.config, version.model.dimensions);
  return { count: request.batch, inputs: request.inputs, puzzleIdentifiers: request.puzzleIdentifiers };
}

/** Refuses work over the server's limits: steps, and the size of a logits trace. */
export function checkedWork(samples: Samples, options: Record<string, unknown>, version: LoadedVersion, limits: ServeLimits, fields: { steps: string; trace: string }): void {
  const { maxSteps, traceLogits } = normalizeOptions(options, version.config);
  const { seq_len: seqLen, vocab_size: vocab, halt_max_steps: modelSteps } = version.config;
  checkWork({ samples: samples.count, maxSteps, traceLogits, valuesPerStep: seqLen * vocab, modelSteps }, limits, fields);
}

/**
 * The options as given, once the library accepts them. They are passed on unchanged, so an
 * option the library gains (a stopping rule) works here without a change.
 */
export function checkedOptions(options: Record<string, unknown>, version: LoadedVersion, field: string): Record<string, unknown> {
  for (const key of Object.keys(options)) {
    if (NOT_OVER_HTTP.has(key)) throw new OptionError('not available over HTTP', { field: `${field}.${key}`, value: options[key], expected: 'no carry options' });
  }
  try {
    normalizeOptions(options, version.config);
  } catch (e) {
    if (e instanceof OptionError && e.field !== undefined) {
      throw new OptionError(e.message.split(';')[0], { field: `${field}.${e.field}`, value: e.value, expected: e.expected });
    }
    throw e;
  }
  return options;
}


/** Marks the request as served by this version: the model and version labels of its metrics. */
export function markServed(request: FastifyRequest, version: LoadedVersion): void {
  request.served = { model: version.name, version: String(version.version) };
}
