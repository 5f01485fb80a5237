#!/usr/bin/env node
'use strict';
// The serving benchmark (npm run bench:serve): `trm serve` on a shipped model, driven by
// autocannon at concurrency 1, 8 and 64, dynamic batching on and off, one single-sample OIP
// infer request per call. Reports requests/s and p50/p99 latency, and the library measured
// the same way in-process (64 concurrent single calls vs one batch of 64) for reference.
// The server runs in its own process; every server's answer is checked against the
// library's before it is timed. Writes bench/serve-results.md and .json.
//   node bench/serve.js [--model sudoku-9x9] [--duration 10] [--quick]
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { loadModel, heldOutSet, taskForModel } = require('../dist');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const QUICK = args.includes('--quick');
const MODEL = flag('model', 'sudoku-9x9');
const DURATION = Number(flag('duration', QUICK ? 3 : 10));
const CONCURRENCY = [1, 8, 64];
const ROOT = path.resolve(__dirname, '..');
const MODEL_DIR = path.join(ROOT, 'models', MODEL);

function cpuName() {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const name = /model name\s*:\s*(.*)/.exec(info)?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  const family = /cpu family\s*:\s*(\d+)/.exec(info)?.[1];
  const model = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
  return `${name}${family ? ` (family ${family} model ${model})` : ''}, ${os.availableParallelism?.() ?? os.cpus().length} cores`;
}

function startServer(extra) {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--port', '0', '--quiet', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`trm serve exited ${code}: ${stderr}`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

function run(url, body, connections, duration = DURATION) {
  return new Promise((resolve, reject) => {
    autocannon({
      url: `${url}/v2/models/${MODEL}/infer`, method: 'POST', headers: { 'content-type': 'application/json' }, body,
      connections, pipelining: 1, duration,
    }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function libraryReference(model, inputs) {
  const alone = (n) => Promise.all(Array.from({ length: n }, () => model.infer({ inputs: [inputs] })));
  const rows = Array.from({ length: 64 }, () => inputs);
  await alone(64);
  await model.infer({ inputs: rows });
  const time = async (fn, reps) => {
    const start = performance.now();
    for (let i = 0; i < reps; i++) await fn();
    return (performance.now() - start) / reps;
  };
  const reps = QUICK ? 2 : 5;
  const concurrent = await time(() => alone(64), reps);
  const batched = await time(() => model.infer({ inputs: rows }), reps);
  return { concurrentMs: concurrent, batchMs: batched, answersPerSecondConcurrent: 64000 / concurrent, answersPerSecondBatch: 64000 / batched };
}

async function main() {
  const started = new Date();
  const load = os.loadavg();
  const model = await loadModel(MODEL_DIR);
  const task = taskForModel(model.config);
  const [example] = heldOutSet(task, 1, {}).examples;
  const inputs = Array.from(example.inputs);
  const expected = await model.infer({ inputs: [inputs] });
  const reference = await libraryReference(model, inputs);
  model.dispose();
  console.log(`library, ${MODEL}, ${model.config.halt_max_steps} steps: 64 concurrent single calls ${reference.concurrentMs.toFixed(1)} ms, one batch of 64 ${reference.batchMs.toFixed(1)} ms (${(reference.concurrentMs / reference.batchMs).toFixed(2)}x)`);

  const body = JSON.stringify({ inputs: [{ name: 'inputs', shape: [1, inputs.length], datatype: 'INT32', data: inputs }], outputs: [{ name: 'predictions' }, { name: 'steps' }] });
  const rows = [];
  for (const batching of [true, false]) {
    const { child, url } = await startServer(batching ? [] : ['--no-batching']);
    try {
      const check = await (await fetch(`${url}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
      const predictions = check.outputs[0].data;
      if (predictions.some((t, i) => t !== expected.predictions[i])) throw new Error('the server answered differently from the library');
      for (const connections of CONCURRENCY) {
        await run(url, body, connections, Math.min(2, DURATION)); // warm-up
        const r = await run(url, body, connections);
        const row = {
          batching, connections, requestsPerSecond: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99,
          requests: r.requests.total, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts,
        };
        rows.push(row);
        console.log(`batching ${batching ? 'on ' : 'off'} concurrency ${String(connections).padStart(2)}: ${row.requestsPerSecond.toFixed(1)} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms (${row.requests} requests, ${row.non2xx} non-2xx, ${row.errors} errors)`);
      }
    } finally {
      await stopServer(child);
    }
  }

  const machine = `${cpuName()}; Node ${process.version}; load average ${load.map((l) => l.toFixed(1)).join(', ')} at the start (a shared machine: figures are noisy, compare rows measured side by side)`;
  const on = (c) => rows.find((r) => r.batching && r.connections === c);
  const off = (c) => rows.find((r) => !r.batching && r.connections === c);
  const lines = [
    '# Serving benchmark',
    '',
    `Written by \`npm run bench:serve\` (bench/serve.js) on ${started.toISOString()}.`,
    '',
    `- Machine: ${machine}`,
    `- Model: models/${MODEL} (seq ${model.config.seq_len}, ${model.config.halt_max_steps} fixed ACT steps, the OIP default), \`trm serve\` with default threads, one single-sample OIP infer request per call, autocannon ${DURATION} s per row after a 2 s warm-up; the answer was checked against the library's first.`,
    `- Library in-process for reference: 64 concurrent single-sample calls ${reference.concurrentMs.toFixed(1)} ms (${reference.answersPerSecondConcurrent.toFixed(0)} answers/s), one batch of 64 ${reference.batchMs.toFixed(1)} ms (${reference.answersPerSecondBatch.toFixed(0)} answers/s): ${(reference.concurrentMs / reference.batchMs).toFixed(2)}x.`,
    '',
    '| concurrency | batching | requests/s | p50 ms | p99 ms | non-2xx | timed out (10 s) | on/off requests/s |',
    '|---|---|---|---|---|---|---|---|',
    ...CONCURRENCY.flatMap((c) => [on(c), off(c)].map((r) => `| ${c} | ${r.batching ? 'on' : 'off'} | ${r.requestsPerSecond.toFixed(1)} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.timeouts} | ${r.batching ? `${(on(c).requestsPerSecond / off(c).requestsPerSecond).toFixed(2)}x` : ''} |`)),
    '',
    'Latency percentiles count answered requests only; a request autocannon gave up on after 10 s is in the "timed out" column instead.',
    '',
  ];
  const out = QUICK ? path.join(os.tmpdir(), 'trm-serve-bench') : __dirname;
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'serve-results.md'), lines.join('\n'));
  fs.writeFileSync(path.join(out, 'serve-results.json'), JSON.stringify({ started: started.toISOString(), machine, model: MODEL, duration: DURATION, reference, rows }, null, 2) + '\n');
  console.log(`wrote ${path.join(out, 'serve-results.md')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
