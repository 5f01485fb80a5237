/**
 * Training jobs of the service, end to end on a real SQLite file and real training
 * processes: submit a short sudoku4 run, follow it over server-sent events, see the new
 * version serve with its metadata and retention applied; cancel a running job while
 * another waits its turn; if-better keeps `current` when the new model is worse; and every
 * bad request is a 4xx naming its field.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonlDataset } from '../../../lib/data/jsonl';
import { jobsPlugin } from '../../../lib/serve/jobs/plugin';
import { getTask } from '../../../lib/tasks';
import { JOBS_BUILT, NOT_BUILT, ended, injectGet, pollJob, shortJob, submit, type JobBody } from '../../helpers/jobs';
import { AUTH, cleanup, listeningServer, makeRepository, makeServer } from '../../helpers/serve';

if (!JOBS_BUILT) console.log(NOT_BUILT);
afterAll(cleanup);

const plugins = [jobsPlugin({ trainThreads: 1, maxJobs: 1 })];

/** The events of a job's stream until it ends: [event, job] pairs. */
function readEvents(url: string): Promise<Array<[string, JobBody]>> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      let buffer = '';
      const events: Array<[string, JobBody]> = [];
      res.setEncoding('utf8').on('data', (d: string) => {
        buffer += d;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)![1];
          events.push([event, JSON.parse(/^data: (.*)$/m.exec(block)![1]) as JobBody]);
        }
      });
      res.on('end', () => resolve(events));
    }).on('error', reject);
  });
}

describe.skipIf(!JOBS_BUILT)('training jobs', () => {
  it('trains, publishes the EMA model as the next version with its metadata, applies retention, streams progress', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 3);
    const { app, url } = await listeningServer({ repository: root, keepVersions: 1, plugins, threads: 1 });
    const job = await submit(app, shortJob());
    expect(job.status).toMatch(/queued|running/);
    expect(job.links.self).toBe(`/v1/jobs/${job.id}`);
    const events = await readEvents(`${url}${job.links.events}`);
    const done = events.at(-1)!;
    expect(done[0]).toBe('end');
    expect(done[1].status, done[1].error ?? '').toBe('succeeded');
    expect(events.filter(([e]) => e === 'progress').length).toBeGreaterThan(0);
    const final = await injectGet(app)(job.id);
    expect(final.progress!.step).toBe(12);
    expect(final.progress!.total).toBe(12);
    expect(final.progress!.heldOut!.step).toBe(12);
    expect(final.version).toBe(4);
    expect(final.result!.promoted).toBe(true);
    // current + 1 other version kept: 3 and 4; 1 and 2 are gone.
    expect(final.result!.deleted).toEqual([1, 2]);
    expect(fs.readdirSync(path.join(root, 'sudoku4')).filter((n) => /^\d+$/.test(n)).sort()).toEqual(['3', '4']);

    const metadata = JSON.parse(fs.readFileSync(path.join(root, 'sudoku4', '4', 'metadata.json'), 'utf8'));
    expect(metadata.job).toBe(job.id);
    expect(metadata.recipe.steps).toBe(12);
    expect(metadata.recipe.seed).toBe(3);
    expect(metadata.heldOutAccuracy).toEqual(final.result!.heldOut);
    expect(metadata.heldOutAccuracy.heldOut.count).toBe(32);
    expect(metadata.trainingSeconds).toBeGreaterThan(0);
    expect(Date.parse(metadata.created)).toBeGreaterThan(Date.parse(final.started!));
    // The training state stays in the job's folder, not in the served version.
    expect(fs.existsSync(path.join(root, 'sudoku4', '4', 'train_state.safetensors'))).toBe(false);
    expect(fs.existsSync(path.join(root, '.trm', 'jobs', job.id, 'checkpoint', 'train_state.safetensors'))).toBe(true);

    const served = await app.inject({ method: 'POST', url: '/v1/models/sudoku4/analyze', payload: { input: '1.3.....2..1....' } });
    expect(served.statusCode).toBe(200);
    expect(served.json().version).toBe(4);
    const models = (await app.inject({ method: 'GET', url: '/v1/models' })).json();
    const v4 = models.models[0].versions.find((v: { version: number }) => v.version === 4);
    expect(v4.aliases).toEqual(['current']);
    expect(v4.heldOutAccuracy.fixed).toEqual(final.result!.heldOut!.heldOut);
    expect(v4.trainingSamples.steps).toBe(12);
  });

  it('runs one job at a time in order; a cancelled running job stops, and if-better keeps current when the new model is worse', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const app = await makeServer({ repository: root, plugins, threads: 1 });
    const get = injectGet(app);
    const long = await submit(app, shortJob({ recipe: { steps: 100000, batch: 8 }, evalEvery: 100000 }));
    const next = await submit(app, shortJob({ promote: 'if-better' }));
    await pollJob(get, long.id, (j) => j.status === 'running' && (j.progress?.step ?? 0) >= 1);
    expect((await get(next.id)).status).toBe('queued');
    const list = (await app.inject({ method: 'GET', url: '/v1/jobs?status=queued' })).json();
    expect(list.jobs.map((j: JobBody) => j.id)).toEqual([next.id]);

    const cancel = await app.inject({ method: 'DELETE', url: `/v1/jobs/${long.id}`, headers: AUTH });
    expect(cancel.statusCode).toBe(202);
    expect(cancel.json().cancelRequested).toBe(true);
    const cancelled = await pollJob(get, long.id, ended, 30);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.progress!.step).toBeLessThan(100000);
    expect(cancelled.version).toBeNull();
    const again = await app.inject({ method: 'DELETE', url: `/v1/jobs/${long.id}`, headers: AUTH });
    expect(again.statusCode).toBe(409);

    const worse = await pollJob(get, next.id, ended);
    expect(worse.status, worse.error ?? '').toBe('succeeded');
    // 12 steps from scratch is far below the shipped model (99.6% held-out): published, not promoted.
    expect(worse.result!.baseline!.heldOut.exact).toBeGreaterThan(worse.result!.heldOut!.heldOut.exact);
    expect(worse.result!.promoted).toBe(false);
    expect(worse.result!.promoteReason).toMatch(/worse on heldOut/);
    expect(worse.version).toBe(2);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'sudoku4', 'aliases.json'), 'utf8'))).toEqual({ current: 1 });
    const served = await app.inject({ method: 'POST', url: '/v1/models/sudoku4/analyze', payload: { input: '1.3.....2..1....' } });
    expect(served.json().version).toBe(1);
  });
});

describe.skipIf(!JOBS_BUILT)('training jobs on uploaded data', () => {
  it('trains on an uploaded dataset (every 10th example held out); promote never pins current to what served', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    expect(fs.existsSync(path.join(root, 'sudoku4', 'aliases.json'))).toBe(false);
    const app = await makeServer({ repository: root, plugins, threads: 1 });
    const file = path.join(root, 'upload.jsonl');
    writeJsonlDataset(file, getTask('sudoku4').generate(50, 11));
    const upload = await app.inject({ method: 'POST', url: '/v1/datasets?task=sudoku4', headers: { ...AUTH, 'content-type': 'application/x-ndjson' }, payload: fs.readFileSync(file, 'utf8') });
    expect(upload.statusCode, upload.body).toBe(201);
    const { id, sha256 } = upload.json();
    const job = await submit(app, { kind: 'train', model: 'sudoku4', dataset: id, recipe: { steps: 4, batch: 8 }, promote: 'never' });
    const done = await pollJob(injectGet(app), job.id, ended);
    expect(done.status, done.error ?? '').toBe('succeeded');
    expect(done.result!.heldOut!.heldOut.count).toBe(5);
    expect(done.result!.promoted).toBe(false);
    expect(done.version).toBe(2);
    // Without an alias the highest version would serve; current was pinned to 1 first.
    expect(JSON.parse(fs.readFileSync(path.join(root, 'sudoku4', 'aliases.json'), 'utf8'))).toEqual({ current: 1 });
    expect((await app.inject({ method: 'POST', url: '/v1/models/sudoku4/analyze', payload: { input: '1.3.....2..1....' } })).json().version).toBe(1);
    const metadata = JSON.parse(fs.readFileSync(path.join(root, 'sudoku4', '2', 'metadata.json'), 'utf8'));
    expect(metadata.source).toEqual({ dataset: id });
    expect(metadata.datasetSha256).toBe(sha256);
  });
});

describe('job, dataset and feedback requests', () => {
  it('answers every bad request with a 4xx naming the field', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const app = await makeServer({ repository: root, plugins: [jobsPlugin({ trainThreads: 1 })], threads: 1 });
    const post = (payload: unknown, headers: Record<string, string> = AUTH) => app.inject({ method: 'POST', url: '/v1/jobs', headers, payload: payload as Record<string, unknown> });
    const cases: Array<[unknown, number, RegExp]> = [
      [{ kind: 'train', model: 'sudoku4', dataset: 'ds-nope' }, 404, /field: dataset/],
      [{ kind: 'train', model: 'sudoku4', dataset: 'ds-nope', trainCount: 5 }, 400, /field: trainCount/],
      [shortJob({ task: 'chess' }), 400, /field: task/],
      [shortJob({ recipe: { lr: -1 } }), 400, /field: recipe\.lr/],
      [shortJob({ recipe: { steps: 1.5 } }), 400, /field: recipe\.steps/],
      [shortJob({ recipe: { learningRate: 0.1 } }), 400, /field: recipe\.learningRate/],
      [shortJob({ recipe: { seed: 2e9 } }), 400, /field: recipe\.seed/],
      [shortJob({ taskOptions: { minBlanks: 99 } }), 400, /field: taskOptions\.minBlanks/],
      [shortJob({ taskOptions: { blanks: 3 } }), 400, /taskOptions\.blanks/],
      [shortJob({ kind: 'pretrain' }), 400, /kind/],
      [shortJob({ promote: 'sometimes' }), 400, /promote/],
      [shortJob({ model: '../etc' }), 400, /field: model/],
      [shortJob({ dataset: 'ds-1' }), 400, /exactly one source.*field: dataset/],
      [{ ...shortJob(), task: undefined }, 400, /field: task/],
      [shortJob({ evalEvery: 0 }), 400, /evalEvery/],
      [shortJob({ extra: 1 }), 400, /additional properties/],
      [{ kind: 'fine-tune', model: 'sudoku4' }, 409, /field: model.*feedback/],
      [{ kind: 'fine-tune', model: 'nothing-here' }, 404, /field: model/],
      [{ kind: 'fine-tune', model: 'sudoku4', task: 'sudoku4' }, 400, /field: task/],
    ];
    for (const [payload, status, message] of cases) {
      const r = await post(payload);
      expect(r.statusCode, `${JSON.stringify(payload)}: ${r.body}`).toBe(status);
      expect(r.json().error, JSON.stringify(payload)).toMatch(message);
    }
    expect((await post(shortJob(), {})).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/jobs/job-unknown' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/v1/jobs/job-unknown', headers: AUTH })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/jobs?status=lost' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/v1/jobs' })).json()).toEqual({ jobs: [] });
  });

  it('keeps uploaded datasets (validated line by line) and feedback in the store', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 1);
    const app = await makeServer({ repository: root, plugins: [jobsPlugin({ trainThreads: 1 })], threads: 1 });
    const task = getTask('sudoku4');
    const file = path.join(root, 'upload.jsonl');
    writeJsonlDataset(file, task.generate(30, 7));
    const body = fs.readFileSync(file, 'utf8');
    const upload = (payload: string, query = '?task=sudoku4&name=thirty', headers: Record<string, string> = { ...AUTH, 'content-type': 'application/x-ndjson' }) =>
      app.inject({ method: 'POST', url: `/v1/datasets${query}`, headers, payload });
    const ok = await upload(body);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ name: 'thirty', task: 'sudoku4', count: 30, seqLen: 16, vocabSize: 6 });
    const id = ok.json().id as string;
    expect(fs.readFileSync(path.join(root, '.trm', 'datasets', `${id}.jsonl`), 'utf8')).toBe(body);
    expect((await upload(body)).json().id).toBe(id);
    expect((await app.inject({ method: 'GET', url: '/v1/datasets' })).json().datasets.map((d: { id: string }) => d.id)).toEqual([id]);

    const lines = body.split('\n');
    const bad: Array<[string, RegExp]> = [
      [[lines[0], '{"inputs": [1,2], "labels": [1,2]}'].join('\n'), /line 2: inputs\.length: wrong length.*expected: 16 tokens/],
      [[lines[0], lines[1], 'not json'].join('\n'), /line 3: line: not valid JSON/],
      [lines[0].replace('"labels":[', '"labels":[9,'), /line 1: labels\.length/],
      [lines[0].replace('"inputs":[', '"inputs":[7,').replace(/,\d+\],"labels"/, '],"labels"'), /line 1: inputs\[0\]: token outside the vocabulary/],
      ['', /no examples/],
    ];
    for (const [payload, message] of bad) {
      const r = await upload(payload);
      expect(r.statusCode, payload).toBe(400);
      expect(r.json().error).toMatch(message);
      expect(r.json().error).toMatch(/file: the request body/);
    }
    expect((await upload(body, '?task=chess')).json().error).toMatch(/field: task/);
    expect((await upload(body, '', { ...AUTH, 'content-type': 'application/json' })).statusCode).toBe(400);
    expect((await upload(body, '', { 'content-type': 'application/x-ndjson' })).statusCode).toBe(401);
    expect(fs.readdirSync(path.join(root, '.trm', 'datasets'))).toEqual([`${id}.jsonl`]);

    const feedback = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/models/sudoku4/feedback', headers: AUTH, payload: payload as Record<string, unknown> });
    const good = await feedback({ examples: [{ input: '1.3.....2..1....', label: '1234341221434321' }, { input: Array.from(lines.length ? task.generate(1, 9)[0].inputs : []), label: Array.from(task.generate(1, 9)[0].labels) }] });
    expect(good.statusCode, good.body).toBe(200);
    expect(good.json()).toEqual({ model: 'sudoku4', added: 2, total: 2 });
    const badFeedback: Array<[unknown, number, RegExp]> = [
      [{ examples: [{ input: '1.3.....2..1....', label: '12' }] }, 400, /examples\[0\]\.label/],
      [{ examples: [{ input: '1.3.....2..1...x', label: '1234341221434321' }] }, 400, /examples\[0\]\.input\[cell 15\]/],
      [{ examples: [{ input: '1.3.....2..1....', label: [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7] }] }, 400, /examples\[0\]\.label\[5\]/],
      [{ examples: [] }, 400, /examples/],
    ];
    for (const [payload, status, message] of badFeedback) {
      const r = await feedback(payload);
      expect(r.statusCode, r.body).toBe(status);
      expect(r.json().error).toMatch(message);
    }
    expect((await app.inject({ method: 'POST', url: '/v1/models/nope/feedback', headers: AUTH, payload: { examples: [{ input: '1', label: '1' }] } })).statusCode).toBe(404);
    expect((await feedback({ examples: [{ input: '1.3.....2..1....', label: '1234341221434321' }] })).json().total).toBe(3);
  });
});
