#!/usr/bin/env node
'use strict';
// Inference latency while a training job runs (npm run bench:serve-jobs): `trm serve` with a
// repository holding the shipped sudoku-4x4, driven by autocannon (single-sample TRM v1
// analyze calls) at concurrency 1 and 8, idle and then while a long training job trains in
// its own process (--train-threads 1, nice 10). Not asserted: timings on a shared machine
// move; the ratio measured side by side is the figure. Writes bench/serve-jobs-results.md.
//   node bench/serve-jobs.js [--duration 8] [--threads 1] [--train-threads 1]
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const DURATION = Number(flag('duration', 8));
const THREADS = flag('threads', '1');
const TRAIN_THREADS = flag('train-threads', '1');
const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const TOKEN = 'bench-token';

function cpuName() {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const name = /model name\s*:\s*(.*)/.exec(info)?.[1] ?? 'unknown CPU';
  const family = /cpu family\s*:\s*(\d+)/.exec(info)?.[1];
  const model = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
  return `${name} (family ${family} model ${model}), ${os.availableParallelism?.() ?? os.cpus().length} cores`;
}

async function main() {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'trm-bench-jobs-'));
  const tokenFile = path.join(repo, '..', `${path.basename(repo)}.token`);
  fs.writeFileSync(tokenFile, TOKEN);
  const publish = spawn(process.execPath, [CLI, 'publish', path.join(ROOT, 'models', 'sudoku-4x4'), '--repository', repo, '--name', 'sudoku4', '--alias', 'current'], { stdio: 'ignore' });
  await new Promise((r) => publish.on('exit', r));
  const server = spawn(process.execPath, [CLI, 'serve', '--repository', repo, '--port', '0', '--quiet', '--threads', THREADS, '--train-threads', TRAIN_THREADS, '--token-file', tokenFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`trm serve exited ${code}: ${stderr}`)));
  });
  const body = JSON.stringify({ input: '1.3.....2..1....', options: { trace: false } });
  const check = await (await fetch(`${url}/v1/models/sudoku4/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
  if (check.answer === undefined) throw new Error(`analyze failed: ${JSON.stringify(check)}`);
  const measure = (connections) => autocannon({
    url: `${url}/v1/models/sudoku4/analyze`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: DURATION,
  });
  const rows = [];
  const run = async (state) => {
    for (const connections of [1, 8]) {
      const r = await measure(connections);
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`);
      rows.push({ state, connections, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 });
      console.log(`${state}, concurrency ${connections}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
    }
  };
  await run('idle');
  const job = await (await fetch(`${url}/v1/jobs`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'train', model: 'sudoku4', task: 'sudoku4', recipe: { steps: 1000000, batch: 64 }, evalEvery: 1000000, publish: false }),
  })).json();
  let status;
  do {
    await new Promise((r) => setTimeout(r, 500));
    status = await (await fetch(`${url}/v1/jobs/${job.id}`)).json();
  } while (!(status.status === 'running' && (status.progress?.step ?? 0) > 0));
  await run('training');
  status = await (await fetch(`${url}/v1/jobs/${job.id}`)).json();
  const trainRate = status.progress.stepsPerSecond;
  await fetch(`${url}/v1/jobs/${job.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(tokenFile, { force: true });

  const lines = [
    '# Inference latency while a job trains', '',
    `${cpuName()}; ${new Date().toISOString()}; sudoku-4x4, single-sample analyze, ${DURATION} s per row; serving threads ${THREADS}, training threads ${TRAIN_THREADS} (batch 64, nice 10), ${trainRate.toFixed(2)} training steps/s during the second half.`, '',
    '| state | concurrency | requests/s | p50 ms | p99 ms |', '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.state} | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} |`), '',
    ...[1, 8].map((c) => {
      const idle = rows.find((r) => r.state === 'idle' && r.connections === c), busy = rows.find((r) => r.state === 'training' && r.connections === c);
      return `concurrency ${c}: p50 x${(busy.p50 / Math.max(idle.p50, 1e-9)).toFixed(2)}, p99 x${(busy.p99 / Math.max(idle.p99, 1e-9)).toFixed(2)}, requests/s x${(busy.rps / idle.rps).toFixed(2)} while training.`;
    }),
  ];
  fs.writeFileSync(path.join(__dirname, 'serve-jobs-results.md'), lines.join('\n') + '\n');
  console.log(lines.slice(-2).join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
