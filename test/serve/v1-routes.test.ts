/**
 * The TRM v1 routes through `inject`: analyze and batch-analyze (text form and tokens, the
 * rendered answer equal to the task's rendering of the library's prediction), the model
 * list with metadata and aliases, alias switches and version deletion with their errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTrace, loadModel, type TrmModel } from '../../lib';
import type { ServeApp } from '../../lib/serve/server';
import { getTask } from '../../lib/tasks';
import { AUTH, SHIPPED, SHIPPED_NAMES, cleanup, makeRepository, makeServer } from '../helpers/serve';

const sudoku = getTask('sudoku4');
const compliance = getTask('compliance');
let root: string;
let app: ServeApp;
let library: TrmModel;

beforeAll(async () => {
  root = await makeRepository({ sudoku4: 'sudoku-4x4', compliance: 'compliance', untrained: 'example-untrained' }, 1);
  // Three more versions of sudoku4, for aliases and deletion.
  const { ModelRepository } = await import('../../lib/serve/repository');
  const repo = new ModelRepository({ root, keepVersions: 10 });
  for (let i = 0; i < 3; i++) await repo.publish(path.join(SHIPPED, 'sudoku-4x4'), { name: 'sudoku4' });
  app = await makeServer({ repository: root, limits: { maxSamples: 4 } });
  library = await loadModel(path.join(SHIPPED, 'sudoku-4x4'), { threads: 2 });
});
afterAll(async () => {
  library.dispose();
  await cleanup();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers });

describe('analyze', () => {
  const text = '1..4 .... .... 3...';

  it('reads the task text form and answers with the rendered answer, as trm solve does', async () => {
    const r = await post('/v1/models/sudoku4/analyze', { input: text });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const inputs = sudoku.parse(text);
    const expected = await library.infer({ inputs: [inputs] }, { haltThreshold: 0.5, trace: true });
    expect(body.model).toBe('sudoku4');
    expect(body.version).toBe(4);
    expect(body.prediction).toEqual(Array.from(expected.predictions));
    expect(body.answer).toBe(sudoku.format(inputs, expected.predictions));
    expect(body.steps).toBe(expected.steps[0]);
    expect(Math.fround(body.haltProbability)).toBe(expected.haltProbability[0]);
    expect(body.stoppedBy).toBe(expected.haltProbability[0] > 0.5 ? 'halt' : 'maxSteps');
    expect(body.confidence).toBeGreaterThan(0);
    expect(body.confidence).toBeLessThanOrEqual(1);
    expect(body.trace).toHaveLength(expected.steps[0]);
    const last = body.trace[body.trace.length - 1];
    expect(last.answer).toBe(body.answer);
    expect(last.halted).toBe(true);
    expect(body.trace.map((s: { changed: number }) => s.changed)).toEqual(expected.trace!.map((t) => t.changed[0]));
  });

  it('takes tokens, a version, library options, and trace: false', async () => {
    const inputs = Array.from(sudoku.parse(text));
    const r = await post('/v1/models/sudoku4/versions/2/analyze', { input: inputs, options: { haltThreshold: null, maxSteps: 3, trace: false } });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.version).toBe(2);
    expect(body.steps).toBe(3);
    expect(body.stoppedBy).toBe('maxSteps');
    expect(body.trace).toBeUndefined();
    const expected = await library.infer({ inputs: [inputs] }, { maxSteps: 3 });
    expect(body.prediction).toEqual(Array.from(expected.predictions));
  });

  it('reads the compliance clause form', async () => {
    const clauses = 'door min_width 80 85; stair max_riser 20 18';
    const r = await post('/v1/models/compliance/analyze', { input: clauses });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.answer).toBe(compliance.format(compliance.parse(clauses), Int32Array.from(body.prediction)));
    expect(body.answer).toMatch(/PASS|FAIL/);
  });

  it.each([
    ['a Sudoku with a wrong cell count', 'sudoku4', { input: '1..4' }, 400, /has 16 cells; field: input/],
    ['a Sudoku with a bad cell', 'sudoku4', { input: '1..4 .... .... 3..9' }, 400, /not a Sudoku cell; field: input\[cell 15\]/],
    ['an unknown compliance check', 'compliance', { input: 'door colour 1 2' }, 400, /unknown check; field: input\[clause 1\]/],
    ['text for a model without a text form', 'untrained', { input: 'abc' }, 400, /no text form; send its tokens/],
    ['tokens of the wrong length', 'sudoku4', { input: [1, 2, 3] }, 400, /wrong sequence length/],
    ['an unknown option', 'sudoku4', { input: text, options: { maxStep: 3 } }, 400, /unknown option; field: options\.maxStep/],
    ['a bad trace option', 'sudoku4', { input: text, options: { trace: 'logits' } }, 400, /field: options\.trace/],
    ['more steps than allowed', 'sudoku4', { input: text, options: { maxSteps: 300 } }, 413, /more ACT steps than the server allows; field: options\.maxSteps/],
    ['an unknown body field', 'sudoku4', { input: text, extra: 1 }, 400, /additional properties/],
    ['a number as input', 'sudoku4', { input: 5 }, 400, /invalid request/],
    ['an unknown model', 'nope', { input: text }, 404, /unknown model/],
  ])('refuses %s', async (_what, model, body, status, message) => {
    const r = await post(`/v1/models/${model}/analyze`, body);
    expect(r.statusCode).toBe(status);
    expect(r.json().error).toMatch(message);
  });

  it('analyzes tokens for a model without a text form', async () => {
    const r = await post('/v1/models/untrained/analyze', { input: new Array(16).fill(1) });
    expect(r.statusCode).toBe(200);
    expect(r.json().answer).toBeNull();
  });
});

describe('batch-analyze', () => {
  it('answers each input as analyze does alone', async () => {
    const inputs = ['1..4 .... .... 3...', '.2.. ..1. 4... ...3', Array.from(sudoku.parse('12.. .... .... ...1'))];
    const r = await post('/v1/models/sudoku4/batch-analyze', { inputs });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.results).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const alone = (await post('/v1/models/sudoku4/analyze', { input: inputs[i] })).json();
      expect(body.results[i].prediction).toEqual(alone.prediction);
      expect(body.results[i].steps).toBe(alone.steps);
      expect(body.results[i].trace).toEqual(alone.trace);
    }
  });

  it('names the input at fault, and limits the count', async () => {
    const bad = await post('/v1/models/sudoku4/batch-analyze', { inputs: ['1..4 .... .... 3...', 'xx'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/field: inputs\[1\]/);
    const many = await post('/v1/models/sudoku4/batch-analyze', { inputs: new Array(5).fill('1..4 .... .... 3...') });
    expect(many.statusCode).toBe(413);
    const ids = await post('/v1/models/sudoku4/batch-analyze', { inputs: ['1..4 .... .... 3...'], puzzleIdentifiers: [0, 0] });
    expect(ids.statusCode).toBe(400);
    expect(ids.json().error).toMatch(/one puzzle identifier per input/);
  });
});

describe('models, aliases and versions', () => {
  it('lists every model with its versions, metadata and aliases', async () => {
    const r = await app.inject('/v1/models');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.readOnly).toBe(false);
    expect(body.models.map((m: { name: string }) => m.name)).toEqual(['compliance', 'sudoku4', 'untrained']);
    const model = body.models.find((m: { name: string }) => m.name === 'sudoku4');
    expect(model.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3, 4]);
    expect(model.defaultVersion).toBe(4);
    const v1 = model.versions[0];
    expect(v1.source).toBe(path.join(SHIPPED, 'sudoku-4x4'));
    expect(Date.parse(v1.created)).toBeGreaterThan(0);
    expect(v1.task).toBe('sudoku4');
    // The shipped card's held-out table, and config.json's training blocks.
    // (models/sudoku-4x4: card 1000/1000 fixed; config.json train_data.count 20000, and the
    // steps and examples drawn of its three runs: the base 8000 / 446,944, fine-tuned by
    // 1500 / 86,312, then 1000 / 57,484, the last in `training`, the others under fine_tuned_from.)
    expect(v1.heldOutAccuracy.fixed).toEqual({ exact: 1, correct: 1000, count: 1000 });
    expect(v1.trainingSamples).toEqual({ distinct: 20000, drawn: 446944 + 86312 + 57484, steps: 8000 + 1500 + 1000 });
  });

  it('switches an alias (token needed), which requests without a version then get', async () => {
    expect((await app.inject({ method: 'PUT', url: '/v1/models/sudoku4/aliases/current', payload: { version: 2 } })).statusCode).toBe(401);
    const put = await app.inject({ method: 'PUT', url: '/v1/models/sudoku4/aliases/current', payload: { version: 2 }, headers: AUTH });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ model: 'sudoku4', alias: 'current', version: 2, previous: null });
    expect(JSON.parse(fs.readFileSync(path.join(root, 'sudoku4', 'aliases.json'), 'utf8'))).toEqual({ current: 2 });
    expect((await post('/v1/models/sudoku4/analyze', { input: '1..4 .... .... 3...' })).json().version).toBe(2);
    const back = await app.inject({ method: 'PUT', url: '/v1/models/sudoku4/aliases/current', payload: { version: 3 }, headers: AUTH });
    expect(back.json().previous).toBe(2);
    // An alias is also a version reference in URLs.
    await app.inject({ method: 'PUT', url: '/v1/models/sudoku4/aliases/previous', payload: { version: '1' }, headers: AUTH });
    expect((await post('/v1/models/sudoku4/versions/previous/analyze', { input: '1..4 .... .... 3...' })).json().version).toBe(1);
    const list = (await app.inject('/v1/models')).json().models.find((m: { name: string }) => m.name === 'sudoku4');
    expect(list.aliases).toEqual({ current: 3, previous: 1 });
    expect(list.versions[2].aliases).toEqual(['current']);
  });

  it.each([
    ['an unknown version', '/v1/models/sudoku4/aliases/current', { version: 9 }, 404, /unknown version/],
    ['a bad alias name', '/v1/models/sudoku4/aliases/9lives', { version: 1 }, 400, /invalid alias name/],
    ['a bad version', '/v1/models/sudoku4/aliases/current', { version: -1 }, 400, /invalid version/],
    ['an unknown model', '/v1/models/nope/aliases/current', { version: 1 }, 404, /unknown model/],
  ])('refuses an alias to %s', async (_what, url, payload, status, message) => {
    const r = await app.inject({ method: 'PUT', url, payload, headers: AUTH });
    expect(r.statusCode).toBe(status);
    expect(r.json().error).toMatch(message);
  });

  it('deletes a version no alias names and no request uses; 409 otherwise', async () => {
    expect((await app.inject({ method: 'DELETE', url: '/v1/models/sudoku4/versions/4' })).statusCode).toBe(401);
    const aliased = await app.inject({ method: 'DELETE', url: '/v1/models/sudoku4/versions/3', headers: AUTH });
    expect(aliased.statusCode).toBe(409);
    expect(aliased.json().error).toMatch(/an alias names this version.*move current/);
    // A request in flight on version 4 (64 fixed steps: tens of ms) holds it.
    const running = post('/v1/models/sudoku4/versions/4/analyze', { input: '1..4 .... .... 3...', options: { maxSteps: 64, haltThreshold: null } });
    const inFlight = () => app.trm.repository.summary('sudoku4').versions.find((v) => v.version === 4)!.inFlight;
    while (inFlight() === 0) await new Promise((resolve) => setImmediate(resolve));
    const inUse = await app.inject({ method: 'DELETE', url: '/v1/models/sudoku4/versions/4', headers: AUTH });
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json().error).toMatch(/in use/);
    expect((await running).statusCode).toBe(200);
    const deleted = await app.inject({ method: 'DELETE', url: '/v1/models/sudoku4/versions/4', headers: AUTH });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({ model: 'sudoku4', deleted: 4 });
    expect(fs.existsSync(path.join(root, 'sudoku4', '4'))).toBe(false);
    expect((await post('/v1/models/sudoku4/versions/4/analyze', { input: '1..4 .... .... 3...' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/v1/models/sudoku4/versions/4', headers: AUTH })).statusCode).toBe(404);
  });
});

describe('the shipped models', () => {
  it('serves each as version 1, read-only', async () => {
    const shipped = await makeServer({});
    const list = (await shipped.inject('/v1/models')).json();
    expect(list.readOnly).toBe(true);
    expect(list.models.map((m: { name: string }) => m.name)).toEqual(SHIPPED_NAMES);
    expect(list.models.every((m: { versions: Array<{ version: number }> }) => m.versions.length === 1 && m.versions[0].version === 1)).toBe(true);
    const put = await shipped.inject({ method: 'PUT', url: '/v1/models/maze/aliases/current', payload: { version: 1 }, headers: AUTH });
    expect(put.statusCode).toBe(409);
    expect(put.json().error).toMatch(/read-only/);
    expect((await shipped.inject({ method: 'DELETE', url: '/v1/models/maze/versions/1', headers: AUTH })).statusCode).toBe(409);
    expect((await shipped.inject({ method: 'POST', url: '/v1/models/sudoku-9x9/analyze', payload: { input: '.'.repeat(81) } })).statusCode).toBe(200);
  });
});

/** A shipped codec model's analyze answer for one input, and the library's own prediction with its trace. */
async function analyzeAndPredict(name: string, input: unknown) {
  const shipped = await makeServer({});
  const r = await shipped.inject({ method: 'POST', url: `/v1/models/${name}/analyze`, payload: { input } });
  expect(r.statusCode, r.body).toBe(200);
  const model = await loadModel(path.join(SHIPPED, name), { threads: 1 });
  const [expected] = await model.predict([input], { trace: true });
  model.dispose();
  return { body: r.json(), expected };
}

describe('analyze on a codec model (models/compliance-records)', () => {
  // The record from the model's card (models/compliance-records/README.md, its trm solve line).
  const record = {
    element_features: { type: 'door', storey: 2 },
    rule_context: { rule_id: 'IBC-1010.1.1', severity: 'major' },
    compliance_check: { actual_value: 81.5, required_value: 85, comparison: '>=' },
  };

  it('takes a record, answers its label as the library decodes it, with the label at every step', async () => {
    const { body, expected } = await analyzeAndPredict('compliance-records', record);
    expect(body.label).toEqual(expected.label);
    expect(body.labelProbability).toBeCloseTo(expected.probability, 6);
    expect(body.steps).toBe(expected.steps);
    expect(body.trace.map((s: { label: unknown }) => s.label)).toEqual(expected.trace!.map((s) => s.label));
    body.trace.forEach((s: { labelProbability: number }, i: number) => expect(s.labelProbability).toBeCloseTo(expected.trace![i].probability, 6));
    expect(body.trace.map((s: { text: string }) => s.text)).toEqual(formatTrace(expected));
    expect(body.trace[0].text).toMatch(/^step 1: status (PASS|FAIL) \d\.\d\d, violated_rule \S+ \d\.\d\d/);
  });

  it('refuses a number outside the schema\'s range, naming the field (unknown categories are UNK, not errors)', async () => {
    const shipped = await makeServer({});
    const bad = { ...record, compliance_check: { ...record.compliance_check, actual_value: 5000 } };
    const r = await shipped.inject({ method: 'POST', url: '/v1/models/compliance-records/analyze', payload: { input: bad } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatch(/field: input\.compliance_check\.actual_value; got: 5000/);
    const batch = await shipped.inject({ method: 'POST', url: '/v1/models/compliance-records/batch-analyze', payload: { inputs: [record, bad] } });
    expect(batch.statusCode).toBe(400);
    expect(batch.json().error).toMatch(/field: inputs\[1\]\.compliance_check\.actual_value/);
  });

  it('refuses a record for a model without a codec', async () => {
    const shipped = await makeServer({});
    const r = await shipped.inject({ method: 'POST', url: '/v1/models/maze/analyze', payload: { input: record } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatch(/no codec/);
  });
});

describe('analyze on a text codec model (models/intent)', () => {
  it('takes a text, answers the intents in order as the library decodes them, with a line per step', async () => {
    const text = 'could you dim the lights in the bathroom and then tell me the weather in lisbon'; // the card's example
    const { body, expected } = await analyzeAndPredict('intent', text);
    expect(body.label).toEqual(expected.label);
    expect(body.label).toEqual(['lights', 'weather']);
    expect(body.answer).toBe('["lights","weather"]');
    expect(body.trace.map((s: { text: string }) => s.text)).toEqual(formatTrace(expected));
  });

  it('refuses a text that is not a string or a token list', async () => {
    const shipped = await makeServer({});
    const r = await shipped.inject({ method: 'POST', url: '/v1/models/intent/analyze', payload: { input: 42 } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatch(/body\/input must be string/);
  });
});

describe('GET .../codec: how a codec model reads its input (the trace page builds its form from it)', () => {
  it('a record model: its fields in token order, its label slots, the layout lines, and a sample that analyze takes as it is', async () => {
    const shipped = await makeServer({});
    const r = await shipped.inject({ method: 'GET', url: '/v1/models/compliance-records/codec' });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    const model = await loadModel(path.join(SHIPPED, 'compliance-records'), { threads: 1 });
    const codec = model.codec!;
    model.dispose();
    expect(body).toMatchObject({ model: 'compliance-records', kind: 'record', describe: codec.describe() });
    expect(body.labels.map((l: { name: string }) => l.name)).toEqual(['status', 'violated_rule']);
    expect(body.labels[0].classes).toEqual(expect.arrayContaining(['PASS', 'FAIL']));
    const actual = body.fields.find((f: { path: string }) => f.path === 'compliance_check.actual_value');
    expect(actual).toMatchObject({ type: 'number', optional: false, min: 0, decimals: 1 });
    expect(body.fields.find((f: { path: string }) => f.path === 'element_features.type')).toMatchObject({ type: 'category', values: expect.arrayContaining(['door']) });
    // Every field of the sample holds a value the codec knows: nothing UNK, nothing MISSING.
    expect(codec.encodeInput(body.sample).notes).toEqual([]);
    expect(codec.decodeInput(codec.encodeInput(body.sample).inputs)).toEqual(body.sample);
    const analyzed = await shipped.inject({ method: 'POST', url: '/v1/models/compliance-records/versions/1/analyze', payload: { input: body.sample } });
    expect(analyzed.statusCode, analyzed.body).toBe(200);
    expect(analyzed.json().trace[0].text).toMatch(/^step 1: status (PASS|FAIL)/);
    const byVersion = await shipped.inject({ method: 'GET', url: '/v1/models/compliance-records/versions/1/codec' });
    expect(byVersion.json()).toEqual(body);
  });

  it('a text model: its length limit and its label slots', async () => {
    const shipped = await makeServer({});
    const body = (await shipped.inject({ method: 'GET', url: '/v1/models/intent/codec' })).json();
    expect(body).toMatchObject({ kind: 'text', sample: '', lowercase: expect.any(Boolean) });
    expect(body.maxLength).toBeGreaterThan(16);
    expect(body.fields).toBeUndefined();
    expect(body.labels[0].classes).toEqual(expect.arrayContaining(['lights', 'weather']));
  });

  it('GET /v1/models says which versions have one, and of which kind', async () => {
    const shipped = await makeServer({});
    const { models } = (await shipped.inject({ method: 'GET', url: '/v1/models' })).json() as { models: Array<{ name: string; versions: Array<{ codec: unknown }> }> };
    const kind = (name: string) => models.find((m) => m.name === name)!.versions[0].codec;
    expect([kind('compliance-records'), kind('intent'), kind('sudoku-4x4')]).toEqual(['record', 'text', null]);
  });

  it('a token model has none: 404 with a JSON error', async () => {
    const shipped = await makeServer({});
    const r = await shipped.inject({ method: 'GET', url: '/v1/models/sudoku-4x4/codec' });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toMatch(/no codec/);
    expect((await shipped.inject({ method: 'GET', url: '/v1/models/nope/codec' })).statusCode).toBe(404);
  });
});
