/**
 * The Open Inference Protocol routes through Fastify's `inject` (no socket): every route,
 * its answers checked against the library's own, and its errors with their status codes and
 * `{"error"}` bodies. After each rejected request the model still gives its earlier answer.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type TrmModel } from '../../lib';
import type { ServeApp } from '../../lib/serve/server';
import { getTask } from '../../lib/tasks';
import { AUTH, SHIPPED, cleanup, makeRepository, makeServer, oipBody, output } from '../helpers/serve';

const task = getTask('sudoku4');
const puzzles = task.generate(5, 7).map((e) => e.inputs);
let app: ServeApp;
let library: TrmModel;

beforeAll(async () => {
  const root = await makeRepository({ sudoku4: 'sudoku-4x4', maze: 'maze' }, 2);
  app = await makeServer({ repository: root, limits: { maxSamples: 8, bodyLimit: 64 * 1024, maxTraceValues: 10_000 } });
  library = await loadModel(path.join(SHIPPED, 'sudoku-4x4'), { threads: 2 });
});
afterAll(async () => {
  library.dispose();
  await cleanup();
});

const infer = (body: unknown, url = '/v2/models/sudoku4/infer') => app.inject({ method: 'POST', url, payload: body as Record<string, unknown> });

describe('server metadata and health', () => {
  it('GET /v2 names the server and its extensions', async () => {
    const r = await app.inject('/v2');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'trm-node', version: expect.any(String), extensions: ['model_repository'] });
  });

  it('answers live and ready once every model is loaded', async () => {
    expect((await app.inject('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await app.inject('/v2/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
  });

  it('answers an unknown route with 404 and an error body', async () => {
    const r = await app.inject('/v2/nothing');
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toMatch(/no route GET \/v2\/nothing/);
    // Even a POST, which would need the token if it matched an admin route.
    const post = await app.inject({ method: 'POST', url: '/v2/models/sudoku4/inferr', payload: {} });
    expect(post.statusCode).toBe(404);
  });
});

describe('model metadata and readiness', () => {
  it('describes the tensors with and without a version', async () => {
    for (const url of ['/v2/models/sudoku4', '/v2/models/sudoku4/versions/1']) {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.name).toBe('sudoku4');
      expect(body.versions).toEqual(['1', '2']);
      expect(body.platform).toBe('trm-node_native');
      expect(body.inputs.map((t: { name: string; datatype: string; shape: number[] }) => [t.name, t.datatype, t.shape]))
        .toEqual([['inputs', 'INT32', [-1, 16]], ['puzzle_identifiers', 'INT32', [-1]]]);
      expect(body.outputs.map((t: { name: string; datatype: string; shape: number[] }) => [t.name, t.datatype, t.shape])).toEqual([
        ['predictions', 'INT32', [-1, 16]], ['steps', 'INT32', [-1]], ['halt_probability', 'FP32', [-1]], ['q_halt', 'FP32', [-1]], ['logits', 'FP32', [-1, 16, 6]],
      ]);
    }
  });

  it('says ready per model and version', async () => {
    expect((await app.inject('/v2/models/sudoku4/ready')).json()).toEqual({ name: 'sudoku4', ready: true });
    expect((await app.inject('/v2/models/sudoku4/versions/2/ready')).json()).toEqual({ name: 'sudoku4', version: '2', ready: true });
  });

  it.each([
    ['/v2/models/nope', 404, /unknown model/],
    ['/v2/models/sudoku4/versions/9', 404, /unknown version/],
    ['/v2/models/sudoku4/versions/latest', 404, /unknown version or alias/],
    ['/v2/models/sudoku4/versions/0', 404, /unknown version or alias/],
    ['/v2/models/..%2F..%2Fetc/ready', 400, /invalid model name/],
    ['/v2/models/a%20b', 400, /invalid model name/],
    ['/v2/models/nope/ready', 404, /unknown model/],
  ])('GET %s is %i', async (url, status, message) => {
    const r = await app.inject(url);
    expect(r.statusCode).toBe(status);
    expect(r.json().error).toMatch(message);
  });
});

describe('infer', () => {
  it('answers what the library answers, with the default outputs', async () => {
    const r = await infer(oipBody(puzzles.slice(0, 3), { id: 'req-1' }));
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const expected = await library.infer({ inputs: puzzles.slice(0, 3) });
    expect(body.model_name).toBe('sudoku4');
    expect(body.model_version).toBe('2');
    expect(body.id).toBe('req-1');
    expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(['predictions', 'steps', 'halt_probability', 'q_halt']);
    expect(body.outputs[0]).toMatchObject({ datatype: 'INT32', shape: [3, 16] });
    expect(output(body, 'predictions')).toEqual(Array.from(expected.predictions));
    expect(output(body, 'steps')).toEqual(Array.from(expected.steps));
    expect(output(body, 'halt_probability').map(Math.fround)).toEqual(Array.from(expected.haltProbability));
    expect(output(body, 'q_halt').map(Math.fround)).toEqual(Array.from(expected.qHalt));
  });

  it('takes nested data and a version, and returns only the outputs asked for', async () => {
    const rows = puzzles.slice(0, 2).map((p) => Array.from(p));
    const nested = { inputs: [{ name: 'inputs', shape: [2, 16], datatype: 'INT32', data: rows }], outputs: [{ name: 'logits' }, { name: 'steps' }] };
    const r = await infer(nested, '/v2/models/sudoku4/versions/1/infer');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.model_version).toBe('1');
    expect(body.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape])).toEqual([['logits', [2, 16, 6]], ['steps', [2]]]);
    const expected = await library.infer({ inputs: rows });
    expect(output(body, 'logits').map(Math.fround)).toEqual(Array.from(expected.logits));
  });

  it('passes max_steps, min_steps, halt_threshold and trace to the library', async () => {
    const parameters = { max_steps: 5, min_steps: 2, halt_threshold: 0.5, trace: true };
    const r = await infer(oipBody(puzzles.slice(0, 2), { parameters }));
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const expected = await library.infer({ inputs: puzzles.slice(0, 2) }, { maxSteps: 5, minSteps: 2, haltThreshold: 0.5, trace: true });
    expect(output(body, 'steps')).toEqual(Array.from(expected.steps));
    const trace = body.parameters.trace;
    expect(trace).toHaveLength(expected.trace!.length);
    trace.forEach((record: Record<string, number[]>, s: number) => {
      const want = expected.trace![s];
      expect(record.step).toBe(want.step);
      expect(record.haltProbability.map(Math.fround)).toEqual(Array.from(want.haltProbability));
      expect(record.changed).toEqual(Array.from(want.changed));
      expect(record.halted).toEqual(Array.from(want.halted));
      expect(record.confidence.map(Math.fround)).toEqual(Array.from(want.confidence));
    });
  });

  it('takes puzzle identifiers', async () => {
    const body = oipBody(puzzles.slice(0, 2));
    (body.inputs as unknown[]).push({ name: 'puzzle_identifiers', shape: [2], datatype: 'INT32', data: [0, 0] });
    const r = await infer(body);
    expect(r.statusCode).toBe(200);
  });

  const healthy = async () => {
    const r = await infer(oipBody([puzzles[0]], { outputs: [{ name: 'logits' }] }));
    const expected = await library.infer({ inputs: [puzzles[0]] });
    expect(output(r.json(), 'logits').map(Math.fround)).toEqual(Array.from(expected.logits));
  };

  const good = { name: 'inputs', shape: [1, 16], datatype: 'INT32', data: Array.from(puzzles[0]) };
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['no inputs', { inputs: [] }, 400, /inputs must NOT have fewer than 1 items/],
    ['an unknown top-level field', { inputs: [good], extra: 1 }, 400, /must NOT have additional properties/],
    ['a wrong datatype', { inputs: [{ ...good, datatype: 'FP32' }] }, 400, /wrong datatype.*expected: INT32/],
    ['a wrong shape', { inputs: [{ ...good, shape: [1, 15] }] }, 400, /wrong shape.*\[-1, 16\]/],
    ['a rank-1 shape', { inputs: [{ ...good, shape: [16] }] }, 400, /wrong shape/],
    ['data shorter than the shape', { inputs: [{ ...good, data: good.data.slice(1) }] }, 400, /data does not fit the shape/],
    ['nested data off the shape', { inputs: [{ ...good, shape: [2, 16], data: [good.data, good.data.slice(1)] }] }, 400, /nested data does not follow the shape.*data\[1\]/],
    ['a string token', { inputs: [{ ...good, data: ['2', ...good.data.slice(1)] }] }, 400, /not an INT32 value; field: inputs\[0\]\.data\[0\]/],
    ['a fractional token', { inputs: [{ ...good, data: [2.5, ...good.data.slice(1)] }] }, 400, /not an INT32 value/],
    ['a token outside the vocabulary', { inputs: [{ ...good, data: [6, ...good.data.slice(1)] }] }, 400, /token outside the vocabulary/],
    ['a negative token', { inputs: [{ ...good, data: [-1, ...good.data.slice(1)] }] }, 400, /token outside the vocabulary/],
    ['an unknown input tensor', { inputs: [good, { ...good, name: 'carry' }] }, 400, /unknown input tensor/],
    ['an input given twice', { inputs: [good, good] }, 400, /given twice/],
    ['no tokens tensor', { inputs: [{ name: 'puzzle_identifiers', shape: [1], datatype: 'INT32', data: [0] }] }, 400, /missing input tensor/],
    ['puzzle ids of the wrong count', { inputs: [good, { name: 'puzzle_identifiers', shape: [2], datatype: 'INT32', data: [0, 0] }] }, 400, /wrong shape/],
    ['a puzzle id out of range', { inputs: [good, { name: 'puzzle_identifiers', shape: [1], datatype: 'INT32', data: [3] }] }, 400, /puzzle identifier out of range/],
    ['an unknown output', { inputs: [good], outputs: [{ name: 'carry' }] }, 400, /unknown output tensor/],
    ['an unknown parameter', { inputs: [good], parameters: { max_stepz: 3 } }, 400, /unknown option; field: parameters\.max_stepz/],
    ['max_steps 0', { inputs: [good], parameters: { max_steps: 0 } }, 400, /field: parameters\.max_steps/],
    ['a halt_threshold above 1', { inputs: [good], parameters: { halt_threshold: 2 } }, 400, /field: parameters\.halt_threshold/],
    ['min_steps above max_steps', { inputs: [good], parameters: { max_steps: 2, min_steps: 3 } }, 400, /field: parameters\.min_steps/],
    ['return_carry', { inputs: [good], parameters: { return_carry: true } }, 400, /not available over HTTP/],
    ['more steps than allowed', { inputs: [good], parameters: { max_steps: 257 } }, 413, /more ACT steps than the server allows; field: parameters\.max_steps; got: 257; expected: at most 256/],
    ['a logits trace over the budget', { inputs: [good], parameters: { max_steps: 200, trace: 'logits' } }, 413, /logits trace would be too large; field: parameters\.trace/],
    ['more samples than allowed', { inputs: [{ ...good, shape: [9, 16], data: new Array(9 * 16).fill(1) }] }, 413, /too many samples/],
  ];
  it.each(cases)('refuses %s', async (_what, body, status, message) => {
    const r = await infer(body);
    expect(r.statusCode).toBe(status);
    expect(r.json().error).toMatch(message);
    await healthy();
  });

  it('refuses bad JSON, a body over the limit, an unknown model and version', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v2/models/sudoku4/infer', payload: '{"inputs": [', headers: { 'content-type': 'application/json' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/not valid JSON/);
    const big = await infer({ inputs: [{ ...good, data: new Array(40_000).fill(1) }] });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toMatch(/larger than the server's limit/);
    expect((await infer(oipBody([puzzles[0]]), '/v2/models/nope/infer')).statusCode).toBe(404);
    expect((await infer(oipBody([puzzles[0]]), '/v2/models/sudoku4/versions/7/infer')).statusCode).toBe(404);
    await healthy();
  });
});

describe('repository extension', () => {
  it('indexes every version with its state', async () => {
    const r = await app.inject({ method: 'POST', url: '/v2/repository/index' });
    expect(r.statusCode).toBe(200);
    const index = r.json() as Array<{ name: string; version: string; state: string }>;
    expect(index.map((e) => [e.name, e.version])).toEqual([['maze', '1'], ['maze', '2'], ['sudoku4', '1'], ['sudoku4', '2']]);
    expect(index.find((e) => e.name === 'maze' && e.version === '2')!.state).toBe('READY');
    const ready = await app.inject({ method: 'POST', url: '/v2/repository/index', payload: { ready: true } });
    expect((ready.json() as unknown[]).every((e) => (e as { state: string }).state === 'READY')).toBe(true);
  });

  it('needs the token to load and unload', async () => {
    const none = await app.inject({ method: 'POST', url: '/v2/repository/models/maze/unload' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await app.inject({ method: 'POST', url: '/v2/repository/models/maze/unload', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error).toMatch(/wrong bearer token/);
  });

  it('unloads a model (then 503 with Retry-After) and loads it back', async () => {
    const body = { inputs: [{ name: 'inputs', shape: [1, 81], datatype: 'INT32', data: new Array(81).fill(1) }] };
    expect((await infer(body, '/v2/models/maze/infer')).statusCode).toBe(200);
    const unload = await app.inject({ method: 'POST', url: '/v2/repository/models/maze/unload', headers: AUTH });
    expect(unload.statusCode).toBe(200);
    const refused = await infer(body, '/v2/models/maze/infer');
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await app.inject('/v2/models/maze/ready')).statusCode).toBe(503);
    // An unloaded model does not make the server unready: it was asked for.
    expect((await app.inject('/v2/health/ready')).statusCode).toBe(200);
    const load = await app.inject({ method: 'POST', url: '/v2/repository/models/maze/load', headers: AUTH, payload: {} });
    expect(load.statusCode).toBe(200);
    expect((await infer(body, '/v2/models/maze/infer')).statusCode).toBe(200);
  });

  it('answers 404 for loading an unknown model, 400 for a bad name', async () => {
    expect((await app.inject({ method: 'POST', url: '/v2/repository/models/nope/load', headers: AUTH })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/v2/repository/models/nope/unload', headers: AUTH })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/v2/repository/models/..%2F/load', headers: AUTH })).statusCode).toBe(400);
  });
});

describe('metrics', () => {
  it('counts requests per route, model and version, and records batches, steps and load times', async () => {
    await infer(oipBody([puzzles[0]]));
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    const text = r.body;
    expect(text).toMatch(/trm_requests_total\{route="\/v2\/models\/:name\/infer",method="POST",model="sudoku4",version="2",status="200"\} \d+/);
    expect(text).toMatch(/trm_request_duration_seconds_bucket\{le="0.5",route="\/v2\/models\/:name\/infer",method="POST",model="sudoku4",version="2"\}/);
    expect(text).toMatch(/trm_batch_size_count\{model="sudoku4",version="2"\} \d+/);
    expect(text).toMatch(/trm_act_steps_sum\{model="sudoku4",version="2"\} \d+/);
    expect(text).toMatch(/trm_queue_depth\{model="sudoku4",version="2"\} 0/);
    expect(text).toMatch(/trm_model_load_seconds_count\{model="maze",version="2"\} 2/);
    // A made-up model name never becomes a label.
    expect(text).not.toMatch(/model="nope"/);
  });
});

describe('overload', () => {
  it('answers 503 with Retry-After past the queue bound and past the deadline', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' });
    const small = await makeServer({ repository: root, batching: { maxQueue: 2, windowMs: 1000 } });
    const send = () => small.inject({ method: 'POST', url: '/v2/models/sudoku4/infer', payload: oipBody([puzzles[0]]) });
    const answers = await Promise.all([send(), send(), send()]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 200, 503]);
    const refused = answers.find((r) => r.statusCode === 503)!;
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json().error).toMatch(/UnavailableError: the queue is full/);

    const hurried = await makeServer({ repository: root, batching: { timeoutMs: 5, windowMs: 100 } });
    const late = await hurried.inject({ method: 'POST', url: '/v2/models/sudoku4/infer', payload: oipBody([puzzles[0]]) });
    expect(late.statusCode).toBe(503);
    expect(late.headers['retry-after']).toBe('1');
    expect(late.json().error).toMatch(/timed out/);
  });
});

describe('auth all', () => {
  it('needs the token on every route', async () => {
    const root = await makeRepository({ sudoku4: 'sudoku-4x4' });
    const locked = await makeServer({ repository: root, auth: 'all' });
    expect((await locked.inject('/v2')).statusCode).toBe(401);
    expect((await locked.inject({ method: 'POST', url: '/v2/models/sudoku4/infer', payload: oipBody([puzzles[0]]) })).statusCode).toBe(401);
    expect((await locked.inject({ url: '/v2', headers: AUTH })).statusCode).toBe(200);
  });
});
