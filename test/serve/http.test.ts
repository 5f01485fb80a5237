/**
 * The server on a real loopback socket: 1000 concurrent requests each answered as the
 * library answers it, an alias switched back and forth under load without losing a request,
 * and malformed traffic (bad bytes, wrong content types, broken HTTP) that must neither crash
 * the server nor change what the model answers.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type InferResult, type TrmModel } from '../../lib';
import { getTask } from '../../lib/tasks';
import { AUTH, SHIPPED, cleanup, listeningServer, makeRepository, oipBody, output } from '../helpers/serve';

let url: string;
let library: TrmModel;
const puzzles = getTask('sudoku4').generate(1000, 21).map((e) => e.inputs);
const OPTIONS = { haltThreshold: 0.5 };
let expected: InferResult;

beforeAll(async () => {
  const root = await makeRepository({ sudoku4: 'sudoku-4x4' }, 2);
  ({ url } = await listeningServer({ repository: root }));
  library = await loadModel(path.join(SHIPPED, 'sudoku-4x4'), { threads: 2 });
  // One batch: each sample's answer in a batch is its lone answer (test/serve/batching.test.ts, test/native/threading.test.ts).
  expected = await library.infer({ inputs: puzzles }, OPTIONS);
});
afterAll(async () => {
  library.dispose();
  await cleanup();
});

async function inferOne(i: number, version?: string): Promise<{ status: number; body: { model_version: string; outputs: Array<{ name: string; data: number[] }> } }> {
  const route = version ? `/v2/models/sudoku4/versions/${version}/infer` : '/v2/models/sudoku4/infer';
  const response = await fetch(url + route, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(oipBody([puzzles[i]], { parameters: { halt_threshold: 0.5 } })),
  });
  return { status: response.status, body: await response.json() };
}

function expectLibraryAnswer(i: number, body: { outputs: Array<{ name: string; data: number[] }> }): void {
  expect(output(body, 'predictions'), `request ${i}`).toEqual(Array.from(expected.predictions.subarray(i * 16, (i + 1) * 16)));
  expect(output(body, 'steps')).toEqual([expected.steps[i]]);
  expect(Math.fround(output(body, 'q_halt')[0])).toBe(expected.qHalt[i]);
}

describe('under load', () => {
  it('answers 1000 concurrent requests, each as the library does', async () => {
    const answers = await Promise.all(puzzles.map((_, i) => inferOne(i)));
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expectLibraryAnswer(i, a.body);
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    // They were batched: fewer batches than requests.
    const batches = Number(/trm_batch_size_count\{model="sudoku4",version="2"\} (\d+)/.exec(metrics)![1]);
    expect(batches).toBeLessThan(1000);
  });

  it('loses no request while current moves back and forth', async () => {
    const seen = new Set<string>();
    let switching = true;
    const switcher = (async () => {
      let version = 1;
      while (switching) {
        const r = await fetch(`${url}/v1/models/sudoku4/aliases/current`, { method: 'PUT', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ version }) });
        expect(r.status).toBe(200);
        version = 3 - version;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    // 12 waves of 30 concurrent requests: the alias moves many times while they run.
    for (let wave = 0; wave < 12; wave++) {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, k) => inferOne(wave * 30 + k)));
      answers.forEach((a, k) => {
        expect(a.status).toBe(200);
        seen.add(a.body.model_version);
        expectLibraryAnswer(wave * 30 + k, a.body);
      });
    }
    switching = false;
    await switcher;
    expect([...seen].sort()).toEqual(['1', '2']);
  });
});

/** Sends raw bytes and returns what came back before the server closed or 1 s passed. */
function raw(bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let got = '';
    socket.on('data', (d) => { got += d.toString('latin1'); });
    socket.on('error', () => resolve(got));
    socket.on('close', () => resolve(got));
    socket.setTimeout(1000, () => socket.destroy());
    socket.end(bytes);
  });
}

describe('malformed traffic', () => {
  const post = (body: string | Buffer, contentType = 'application/json') => fetch(`${url}/v2/models/sudoku4/infer`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it.each([
    ['not JSON', '{"inputs": [', 400],
    ['JSON that is not an object', '[1, 2, 3]', 400],
    ['a JSON string', '"hello"', 400],
    ['null', 'null', 400],
    ['deeply nested arrays', `{"inputs":[{"name":"inputs","shape":[1,16],"datatype":"INT32","data":${'['.repeat(5000)}${']'.repeat(5000)}}]}`, 400],
    ['a __proto__ key', '{"inputs":[],"__proto__":{"polluted":1}}', 400],
    ['NaN tokens', '{"inputs":[{"name":"inputs","shape":[1,16],"datatype":"INT32","data":[NaN]}]}', 400],
    ['huge numbers', `{"inputs":[{"name":"inputs","shape":[1,16],"datatype":"INT32","data":[${new Array(16).fill('1e400').join(',')}]}]}`, 400],
    ['a huge shape', '{"inputs":[{"name":"inputs","shape":[100000000000,16],"datatype":"INT32","data":[1]}]}', 400],
  ])('answers %s with an error', async (_what, body, status) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(typeof (await r.json()).error).toBe('string');
  });

  it('refuses other content types and invalid UTF-8', async () => {
    expect((await post('inputs=1', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await post('{}', 'text/plain')).status).toBe(415);
    expect((await post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).status).toBe(400);
  });

  it('survives broken HTTP and a client that hangs up mid-body', async () => {
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw('POST /v2/models/sudoku4/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"in')).toMatch(/^(HTTP\/1\.1 400|)/);
    expect(await raw(`GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
  });

  it('still answers as the library does afterwards', async () => {
    for (const i of [0, 1, 999]) {
      const a = await inferOne(i, '2');
      expect(a.status).toBe(200);
      expectLibraryAnswer(i, a.body);
    }
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  });
});
