// A worker_thread for test/reliability/workers.test.ts. It requires the addon itself, as a
// worker of a pool would, builds a model from the spec and weights it is sent, posts its
// first answer, then keeps a call in flight until the main thread terminates it.
//
// workerData: { addon: path, spec, weights, request, stepRequest, mode }
//   mode 'infer'   loops `await model.infer(request)`
//   mode 'sync'    loops `model.inferSync(request)` (a call can only end by returning)
//   mode 'dispose' starts an infer, disposes the model while it runs, then loops infer
//                  calls that must each reject with TRM_DISPOSED
//   mode 'step'    loops `await engine.step(stepRequest)` on a GradientEngine
'use strict';
const { parentPort, workerData } = require('node:worker_threads');

const addon = require(workerData.addon);
const { spec, weights, request, stepRequest, mode } = workerData;

function summary(r) {
  return { predictions: r.predictions, logits: r.logits, steps: r.steps, qHalt: r.qHalt };
}

async function main() {
  if (mode === 'step') {
    const engine = new addon.GradientEngine(spec, weights, { threads: 1 });
    const first = await engine.step(stepRequest);
    parentPort.postMessage({ kind: 'first', loss: first.loss });
    for (;;) await engine.step(stepRequest);
  }
  const model = new addon.NativeModel(spec, weights, { threads: 1 });
  const first = await model.infer(request);
  parentPort.postMessage({ kind: 'first', result: summary(first) });
  if (mode === 'sync') {
    for (;;) model.inferSync(request);
  }
  if (mode === 'dispose') {
    const inFlight = model.infer(request);
    model.dispose();
    const answer = await inFlight;
    parentPort.postMessage({ kind: 'disposed', result: summary(answer) });
    for (;;) {
      const code = await Promise.resolve().then(() => model.infer(request)).then(() => 'resolved', (e) => e.code);
      if (code !== 'TRM_DISPOSED') throw new Error(`infer after dispose gave ${code}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  for (;;) await model.infer(request);
}

main().catch((e) => parentPort.postMessage({ kind: 'error', message: String(e && e.stack ? e.stack : e), code: e && e.code }));
