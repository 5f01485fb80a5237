/**
 * Jobs across processes: `trm serve` killed with SIGKILL in the middle of a job resumes it
 * at the next start from its last checkpoint and publishes the same weights, byte for byte,
 * as a run never interrupted; and with `--queue redis://...` a `trm worker` process runs the
 * job against a real redis-server (started here on a free loopback port, nothing saved) and
 * the server serves the version the worker published.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobsPlugin } from '../../../lib/serve/jobs/plugin';
import { CLI } from '../../helpers/cli';
import { JOBS_BUILT, NOT_BUILT, REDIS_PRESENT, ended, injectGet, pollJob, shortJob, startRedis, submit, type JobBody } from '../../helpers/jobs';
import { REPO_ROOT } from '../../helpers/paths';
import { AUTH, TOKEN, cleanup, makeRepository, makeServer } from '../../helpers/serve';

if (!JOBS_BUILT) console.log(NOT_BUILT);
if (!REDIS_PRESENT) console.log('skipping the Redis queue test: redis-server is not installed (apt-get install -y redis-server)');

const slow = process.env.TRM_SLOW !== undefined && process.env.TRM_SLOW !== '' && process.env.TRM_SLOW !== '0';
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await cleanup();
});

function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const match = ready.exec(stderr);
      if (match) resolve({ child, match, exited });
    });
    void exited.then(() => reject(new Error(`${args[0]} exited before it was ready:\n${stderr}`)));
  });
}

function serve(root: string, extra: string[] = []) {
  // Inside the repository (a file, not a model directory), so it goes when the repository does.
  const tokenFile = path.join(root, '.token');
  fs.writeFileSync(tokenFile, TOKEN);
  return start(['serve', '--repository', root, '--port', '0', '--quiet', '--threads', '1', '--train-threads', '1', '--token-file', tokenFile, ...extra], /listening on (http:\/\/\S+)/);
}

const httpGet = (url: string) => async (id: string): Promise<JobBody> => (await fetch(`${url}/v1/jobs/${id}`)).json() as Promise<JobBody>;

async function httpSubmit(url: string, body: Record<string, unknown>): Promise<JobBody> {
  const r = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status).toBe(202);
  return r.json() as Promise<JobBody>;
}

const weights = (root: string, version: number) => fs.readFileSync(path.join(root, 'sudoku4', String(version), 'model.safetensors'));

describe.skipIf(!JOBS_BUILT)('jobs across processes', () => {
  const job = shortJob({ recipe: { steps: 20, batch: 8, seed: 5 }, evalEvery: 5, evalCount: 16 });

  it('a job whose server was killed resumes at the next start and ends with the weights of an uninterrupted run', async () => {
    const reference = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const app = await makeServer({ repository: reference, plugins: [jobsPlugin({ trainThreads: 1 })], threads: 1 });
    const whole = await pollJob(injectGet(app), (await submit(app, job)).id, ended);
    expect(whole.status, whole.error ?? '').toBe('succeeded');
    expect(whole.attempts).toBe(1);

    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const first = await serve(root);
    const url = first.match[1];
    const submitted = await httpSubmit(url, job);
    // Past the checkpoint at step 5, before the end.
    const midway = await pollJob(httpGet(url), submitted.id, (j) => (j.progress?.step ?? 0) >= 7 || ended(j));
    expect(midway.status).toBe('running');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await serve(root);
    const resumed = await pollJob(httpGet(second.match[1]), submitted.id, ended);
    expect(resumed.status, resumed.error ?? '').toBe('succeeded');
    expect(resumed.attempts).toBe(2);
    // It went on from a checkpoint (every 5 steps), not from the start.
    expect(resumed.progress!.resumedFrom! % 5).toBe(0);
    expect(resumed.progress!.resumedFrom).toBeGreaterThanOrEqual(5);
    expect(resumed.progress!.resumedFrom).toBeLessThanOrEqual(midway.progress!.step);
    expect(resumed.version).toBe(2);
    expect(resumed.result!.heldOut).toEqual(whole.result!.heldOut);
    expect(weights(root, 2).equals(weights(reference, 2))).toBe(true);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it.skipIf(!slow)('SIGTERM checkpoints a running job and exits 0; the next start resumes it (slow)', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const first = await serve(root);
    const submitted = await httpSubmit(first.match[1], shortJob({ recipe: { steps: 100000, batch: 8 }, evalEvery: 100000 }));
    const running = await pollJob(httpGet(first.match[1]), submitted.id, (j) => (j.progress?.step ?? 0) >= 2 || ended(j));
    expect(running.status).toBe('running');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = await serve(root);
    const url = second.match[1];
    const resumed = await pollJob(httpGet(url), submitted.id, (j) => j.attempts === 2 && (j.progress?.step ?? 0) > (j.progress?.resumedFrom ?? Infinity) || ended(j));
    expect(resumed.status).toBe('running');
    expect(resumed.progress!.resumedFrom).toBeGreaterThanOrEqual(running.progress!.step);
    await fetch(`${url}/v1/jobs/${submitted.id}`, { method: 'DELETE', headers: AUTH });
    expect((await pollJob(httpGet(url), submitted.id, ended)).status).toBe('cancelled');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it.skipIf(!slow || !REDIS_PRESENT)('a worker killed mid-job: the next worker resumes the job from its checkpoint (slow)', async () => {
    const redis = await startRedis();
    try {
      const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
      const server = await serve(root, ['--queue', redis.url]);
      const url = server.match[1];
      const submitted = await httpSubmit(url, job);
      const workerArgs = ['worker', '--repository', root, '--queue', redis.url, '--train-threads', '1'];
      const first = await start(workerArgs, /waiting for jobs/);
      const midway = await pollJob(httpGet(url), submitted.id, (j) => (j.progress?.step ?? 0) >= 7 || ended(j));
      expect(midway.status).toBe('running');
      first.child.kill('SIGKILL');
      await first.exited;
      // BullMQ hands the job on once the dead worker's lock expires (15 s).
      const second = await start(workerArgs, /waiting for jobs/);
      const done = await pollJob(httpGet(url), submitted.id, ended, 180);
      expect(done.status, done.error ?? '').toBe('succeeded');
      expect(done.attempts).toBe(2);
      expect(done.progress!.resumedFrom).toBeGreaterThanOrEqual(5);
      second.child.kill('SIGTERM');
      server.child.kill('SIGTERM');
      await Promise.all([second.exited, server.exited]);
    } finally {
      await redis.stop();
    }
  });

  it.skipIf(!REDIS_PRESENT)('with --queue, a trm worker runs the job from Redis and the server serves what it published', async () => {
    const redis = await startRedis();
    try {
      const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
      const server = await serve(root, ['--queue', redis.url]);
      const url = server.match[1];
      const submitted = await httpSubmit(url, shortJob());
      await new Promise((r) => setTimeout(r, 1000));
      // No worker yet: the server does not train, the job waits on the queue.
      expect((await httpGet(url)(submitted.id)).status).toBe('queued');
      const worker = await start(['worker', '--repository', root, '--queue', redis.url, '--train-threads', '1'], /waiting for jobs/);
      const done = await pollJob(httpGet(url), submitted.id, ended);
      expect(done.status, done.error ?? '').toBe('succeeded');
      expect(done.version).toBe(2);
      const served = async () => (await (await fetch(`${url}/v1/models/sudoku4/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: '1.3.....2..1....' }) })).json()).version;
      const deadline = Date.now() + 10_000;
      while ((await served()) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await served()).toBe(2);
      worker.child.kill('SIGTERM');
      server.child.kill('SIGTERM');
      await Promise.all([worker.exited, server.exited]);
    } finally {
      await redis.stop();
    }
  });
});
