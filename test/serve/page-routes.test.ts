/**
 * The trace page's server side through `inject`: the static files of web/ at `/`, uPlot's
 * browser build served from its installed npm package (and nothing else of that package),
 * and GET /v1/models/{name}/example, which draws the held-out example `trm solve --random`
 * draws for the same seed, with its label, and refuses training seeds and models without a task.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeApp } from '../../lib/serve/server';
import { getTask } from '../../lib/tasks';
import { EVAL_SEED } from '../../lib/tasks/splits';
import { REPO_ROOT } from '../helpers/paths';
import { cleanup, makeRepository, makeServer } from '../helpers/serve';
import { cliIsFresh, trm } from '../helpers/cli';

let app: ServeApp;

beforeAll(async () => {
  const root = await makeRepository({ sudoku9: 'sudoku-9x9', compliance: 'compliance', untrained: 'example-untrained' }, 1);
  app = await makeServer({ repository: root });
});
afterAll(cleanup);

describe('static files', () => {
  it('serves the page at / and its modules', async () => {
    const index = await app.inject({ url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.body).toBe(fs.readFileSync(path.join(REPO_ROOT, 'web', 'index.html'), 'utf8'));
    const app_js = await app.inject({ url: '/app.js' });
    expect(app_js.statusCode).toBe(200);
    expect(app_js.headers['content-type']).toMatch(/javascript/);
  });

  it('serves uPlot from its npm package, and only the files the page loads', async () => {
    const dist = path.dirname(require.resolve('uplot'));
    const esm = await app.inject({ url: '/vendor/uplot/uPlot.esm.js' });
    expect(esm.statusCode).toBe(200);
    expect(esm.body).toBe(fs.readFileSync(path.join(dist, 'uPlot.esm.js'), 'utf8'));
    expect((await app.inject({ url: '/vendor/uplot/uPlot.min.css' })).statusCode).toBe(200);
    for (const url of ['/vendor/uplot/uPlot.cjs.js', '/vendor/uplot/../package.json', '/vendor/uplot/%2e%2e/package.json', '/../package.json']) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error, url).toBeTypeOf('string');
    }
  });

  it('leaves unknown paths to the JSON 404', async () => {
    const r = await app.inject({ url: '/no-such-page.html' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: 'no route GET /no-such-page.html' });
  });
});

describe('GET /v1/models/{name}/example', () => {
  it('draws the held-out example trm solve --random draws, with its label', async () => {
    const seed = EVAL_SEED + 7;
    const r = await app.inject({ url: `/v1/models/sudoku9/example?seed=${seed}` });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const task = getTask('sudoku9');
    expect(body).toMatchObject({ model: 'sudoku9', version: 1, task: 'sudoku9', seed, puzzleIdentifier: 0 });
    expect(body.inputs).toHaveLength(81);
    expect(body.text).toBe(task.format(Int32Array.from(body.inputs)));
    expect(Array.from(task.parse(body.text))).toEqual(body.inputs);
    expect(body.answer).toBe(task.format(Int32Array.from(body.inputs), Int32Array.from(body.labels)));
    // The label solves the puzzle: every given kept.
    expect(task.isCorrect(Int32Array.from(body.labels), { inputs: Int32Array.from(body.inputs), labels: Int32Array.from(body.labels), puzzleIdentifier: 0 })).toBe(true);
    body.inputs.forEach((t: number, i: number) => {
      if (t > 1) expect(body.labels[i]).toBe(t);
    });
    if (cliIsFresh(['lib/cli', 'lib/tasks'])) {
      const solved = trm(['solve', path.join(REPO_ROOT, 'models', 'sudoku-9x9'), '--random', '--seed', String(seed), '--threads', '1']);
      expect(solved.status).toBe(0);
      expect(solved.stdout).toContain(`${body.display}\n`);
    } else {
      console.warn('page-routes: dist/cli.js is older than lib/; the trm solve comparison is skipped (npm run build:ts)');
    }
    // The same seed, the same example; no seed, a fresh held-out one.
    expect((await app.inject({ url: `/v1/models/sudoku9/versions/1/example?seed=${seed}` })).json()).toEqual(body);
    const fresh = (await app.inject({ url: '/v1/models/sudoku9/example' })).json();
    expect(fresh.seed).toBeGreaterThanOrEqual(EVAL_SEED);
  });

  it('gives the text form the task parses, also where its rendering is another (compliance)', async () => {
    const body = (await app.inject({ url: `/v1/models/compliance/example?seed=${EVAL_SEED}` })).json();
    expect(body.text).toMatch(/^[a-z]+ [a-z_]+ \d+ \d+(; [a-z]+ [a-z_]+ \d+ \d+)*$/);
    expect(Array.from(getTask('compliance').parse(body.text))).toEqual(body.inputs);
    expect(body.display).toMatch(/first violation: \?$/);
    expect(body.labels.some((l: number) => l === -100)).toBe(true);
  });

  it('refuses training seeds, bad seeds, models without a task and unknown models', async () => {
    const training = await app.inject({ url: '/v1/models/sudoku9/example?seed=5' });
    expect(training.statusCode).toBe(400);
    expect(training.json().error).toMatch(/field: seed; got: 5; expected: an integer >= 1000000000/);
    const word = await app.inject({ url: '/v1/models/sudoku9/example?seed=abc' });
    expect(word.statusCode).toBe(400);
    expect(word.json().error).toMatch(/querystring\/seed/);
    const untrained = await app.inject({ url: '/v1/models/untrained/example' });
    expect(untrained.statusCode).toBe(400);
    expect(untrained.json().error).toMatch(/no task to draw examples from/);
    expect((await app.inject({ url: '/v1/models/nope/example' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/models/sudoku9/versions/9/example' })).statusCode).toBe(404);
  });
});
