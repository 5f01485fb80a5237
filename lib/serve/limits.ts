/**
 * What a request may cost and who may send it: the size limits and their defaults, and the
 * bearer-token check. A route says what it does in its config (`access`): 'read' and 'infer'
 * routes are open unless the server runs with auth 'all'; 'admin' routes (anything that
 * changes the repository, and by default every route a plugin adds with a method other
 * than GET/HEAD) always need the token, and are refused when the server has none.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { FastifyRequest } from 'fastify';
import { AuthError, LimitError, OptionError } from '../errors';

export interface ServeLimits {
  /** Bytes of a request body at most (HTTP 413 past it). */
  bodyLimit: number;
  /** Samples in one request at most (HTTP 413 past it). */
  maxSamples: number;
  /**
   * ACT steps a request may ask for (HTTP 413 past it). A batch runs to its end even after its
   * callers time out, and holds its model version meanwhile, so the work of one request is bounded.
   */
  maxSteps: number;
  /** Values of a per-step logits trace (samples x steps x seq_len x vocab) at most: its memory and its JSON. */
  maxTraceValues: number;
}

export const DEFAULT_LIMITS: ServeLimits = { bodyLimit: 1024 * 1024, maxSamples: 256, maxSteps: 256, maxTraceValues: 4_000_000 };

export type RouteAccess = 'read' | 'infer' | 'admin';
/** 'mutating': the token guards admin routes; 'all': every route. */
export type AuthMode = 'mutating' | 'all';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route does, for the token check (default: 'read' for GET/HEAD, else 'admin'). */
    access?: RouteAccess;
  }
}

export function checkSampleCount(count: number, limits: ServeLimits, field: string): void {
  if (count > limits.maxSamples) {
    throw new LimitError('too many samples in one request', { field, value: count, expected: `at most ${limits.maxSamples} (split the request)` });
  }
}

/**
 * Refuses a request whose steps, or whose per-step logits, are over the limits. A model's own
 * halt_max_steps is always allowed (`modelSteps`), whatever the limit.
 */
export function checkWork(work: { samples: number; maxSteps: number; traceLogits: boolean; valuesPerStep: number; modelSteps: number }, limits: ServeLimits, fields: { steps: string; trace: string }): void {
  const allowed = Math.max(limits.maxSteps, work.modelSteps);
  if (work.maxSteps > allowed) {
    throw new LimitError('more ACT steps than the server allows', { field: fields.steps, value: work.maxSteps, expected: `at most ${allowed}` });
  }
  const values = work.samples * work.maxSteps * work.valuesPerStep;
  if (work.traceLogits && values > limits.maxTraceValues) {
    throw new LimitError('the per-step logits trace would be too large', {
      field: fields.trace, value: values, expected: `at most ${limits.maxTraceValues} values (samples x steps x seq_len x vocab): fewer samples or steps, or a trace without logits`,
    });
  }
}

/** The token from `--token-file` (first line, trimmed), else TRM_SERVE_TOKEN, else none. */
export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(tokenFile, 'utf8');
    } catch (e) {
      throw new OptionError(`cannot read the token file (${(e as NodeJS.ErrnoException).code})`, { field: '--token-file', value: tokenFile, expected: 'a readable file holding the bearer token' });
    }
    const token = text.split('\n')[0].trim();
    if (token === '') throw new OptionError('the token file is empty', { field: '--token-file', value: tokenFile, expected: 'a token on its first line' });
    return token;
  }
  const token = env.TRM_SERVE_TOKEN?.trim();
  return token ? token : null;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function routeAccess(request: FastifyRequest): RouteAccess {
  const configured = request.routeOptions.config?.access;
  if (configured) return configured;
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'admin';
}

/** Throws an AuthError unless the request may use its route. */
export function checkAccess(request: FastifyRequest, token: string | null, mode: AuthMode): void {
  // No route: the 404 says so, rather than asking for a token it would not need.
  if (request.is404) return;
  const access = routeAccess(request);
  if (access !== 'admin' && mode !== 'all') return;
  if (token === null) {
    throw new AuthError('this route needs a bearer token, and the server has none', {
      field: 'Authorization', expected: 'a server started with --token-file FILE or TRM_SERVE_TOKEN',
    });
  }
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new AuthError('missing bearer token', { field: 'Authorization', expected: 'Authorization: Bearer <token>' });
  // Compared as digests: equal lengths, and no early exit that would time the prefix.
  if (!timingSafeEqual(digest(match[1]), digest(token))) throw new AuthError('wrong bearer token', { field: 'Authorization', expected: 'the token the server was started with' });
}
