/**
 * Helpers of the job tests: a repository holding the shipped sudoku-4x4 model (as sudoku4),
 * job polling, a redis-server of our own on a free loopback port. Jobs train in forked
 * processes that run the compiled dist/serve/jobs/job-process.js, so the suites skip (saying
 * why) unless dist/ is newer than the sources it is built from.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { expect } from 'vitest';
import type { ServeApp } from '../../lib/serve/server';
import { cliIsFresh } from './cli';
import { AUTH } from './serve';

export const JOBS_BUILT = cliIsFresh(['lib/serve/jobs', 'lib/serve', 'lib/train', 'lib/cli']);
export const NOT_BUILT = 'skipping the job tests: dist/ is missing or older than lib/ (run `npm run build:ts`)';

/** A short sudoku4 training job (about 5 s on one thread of a shared core). */
export function shortJob(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'train', model: 'sudoku4', task: 'sudoku4', trainCount: 200, recipe: { steps: 12, batch: 8, seed: 3 },
    evalCount: 32, evalEvery: 6, promote: 'always', ...extra,
  };
}

export interface JobBody {
  id: string; status: string; error: string | null; version: number | null; attempts: number; cancelRequested: boolean;
  progress: { step: number; total: number; loss: number | null; resumedFrom: number | null; heldOut: { step: number; sets: Record<string, { exact: number; correct: number; count: number }> } | null } | null;
  result: { version: number | null; promoted: boolean; promoteReason: string | null; heldOut: Record<string, { exact: number; correct: number; count: number }> | null; baseline: Record<string, { exact: number }> | null; deleted: number[]; trainingSeconds: number | null } | null;
  links: { self: string; events: string };
}

/** GET /v1/jobs/{id} through `get` until `done(job)`; fails after `seconds`. */
export async function pollJob(get: (id: string) => Promise<JobBody>, id: string, done: (job: JobBody) => boolean, seconds = 120): Promise<JobBody> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const job = await get(id);
    if (done(job)) return job;
    if (Date.now() > end) throw new Error(`job ${id} did not get there in ${seconds} s: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const ended = (job: JobBody) => ['succeeded', 'failed', 'cancelled'].includes(job.status);

export function injectGet(app: ServeApp) {
  return async (id: string): Promise<JobBody> => {
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
    expect(r.statusCode).toBe(200);
    return r.json() as JobBody;
  };
}

export async function submit(app: ServeApp, body: Record<string, unknown>): Promise<JobBody> {
  const r = await app.inject({ method: 'POST', url: '/v1/jobs', headers: AUTH, payload: body });
  expect(r.statusCode, r.body).toBe(202);
  return r.json() as JobBody;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export const REDIS_PRESENT = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server on a free loopback port, nothing saved to disk; `stop` ends it. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
