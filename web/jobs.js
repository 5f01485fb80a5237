// The jobs panel: training jobs of the service (issue 13's /v1/jobs), each with its status
// and progress, live over server-sent events (GET /v1/jobs/{id}/events) while it runs, its
// loss and held-out accuracy curves, and a button that promotes the version a finished job
// published (PUT /v1/models/{name}/aliases/current). A server built without jobs answers
// 404 on GET /v1/jobs: the panel stays hidden.
//
// Fields read (absent ones are left out): job { id, status, model, kind, version | publishedVersion,
// error, progress }; progress { step, total, loss, heldOutExact | accuracy, actSteps, stepsPerSecond, etaSeconds }.
import { api } from './api.js';
import uPlot from '/vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

function progressOf(job) {
  return job.progress ?? {};
}
function accuracyOf(p) {
  return p.heldOutExact ?? p.accuracy ?? null;
}
function publishedOf(job) {
  return job.version ?? job.publishedVersion ?? job.published?.version ?? null;
}

function describe(job) {
  const p = progressOf(job);
  const parts = [`${job.kind ?? 'job'} ${job.model ?? ''}`.trim(), job.status];
  if (p.step !== undefined) parts.push(`step ${p.step}${p.total ? ` of ${p.total}` : ''}`);
  if (typeof p.loss === 'number') parts.push(`loss ${p.loss.toFixed(4)}`);
  const acc = accuracyOf(p);
  if (typeof acc === 'number') parts.push(`held-out ${(acc * 100).toFixed(1)}%`);
  if (typeof p.etaSeconds === 'number' && !FINISHED.has(job.status)) parts.push(`ETA ${Math.round(p.etaSeconds)} s`);
  const version = publishedOf(job);
  if (version !== null) parts.push(`published v${version}`);
  if (job.error) parts.push(`error: ${typeof job.error === 'string' ? job.error : job.error.message ?? JSON.stringify(job.error)}`);
  return parts.join(' · ');
}

export function startJobsPanel({ onPromoted }) {
  const curves = new Map(); // job id -> { step: [], loss: [], accuracy: [] }
  const streams = new Map(); // job id -> EventSource
  const jobs = new Map();
  let shown = null;
  let chart = null;

  const showError = (message) => {
    $('jobs-error').textContent = message;
    $('jobs-error').hidden = message === '';
  };

  const record = (id, p) => {
    if (p.step === undefined) return;
    const c = curves.get(id) ?? { step: [], loss: [], accuracy: [] };
    curves.set(id, c);
    // Points arrive from the list, the events and the job's history, in any order and repeated: kept one per step, in step order.
    let at = c.step.findIndex((s) => s >= p.step);
    if (at === -1) at = c.step.length;
    const replace = c.step[at] === p.step ? 1 : 0;
    c.step.splice(at, replace, p.step);
    c.loss.splice(at, replace, typeof p.loss === 'number' ? p.loss : null);
    c.accuracy.splice(at, replace, typeof accuracyOf(p) === 'number' ? accuracyOf(p) : null);
  };

  const drawCurves = () => {
    const c = shown && curves.get(shown);
    $('job-figure').hidden = !c || c.step.length === 0;
    if (!c || c.step.length === 0) return;
    $('job-caption').textContent = `Loss and held-out accuracy of job ${shown}`;
    const data = [c.step, c.loss, c.accuracy];
    const container = $('job-chart');
    if (chart && chart.trmJob === shown) {
      chart.setData(data);
      return;
    }
    chart?.destroy();
    chart = new uPlot({
      width: Math.max(280, Math.min(container.clientWidth || 600, 900)),
      height: 200,
      scales: { x: { time: false }, acc: { range: [0, 1] } },
      axes: [{ label: 'training step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] }, { label: 'loss', scale: 'y' }, { label: 'held-out exact', scale: 'acc', side: 1, grid: { show: false } }],
      series: [
        { label: 'step' },
        { label: 'loss', stroke: '#c2410c', width: 2, scale: 'y' },
        { label: 'held-out exact', stroke: '#15803d', width: 2, scale: 'acc', spanGaps: true, points: { show: true } },
      ],
    }, data, container);
    chart.trmJob = shown;
    // For the browser tests and the console, as window.trmPage is.
    window.trmJobs = { chart, curves };
  };

  const render = () => {
    const list = $('jobs');
    list.replaceChildren();
    const token = () => $('token').value.trim();
    for (const job of [...jobs.values()].sort((a, b) => String(b.id).localeCompare(String(a.id)))) {
      const item = document.createElement('li');
      item.dataset.status = job.status;
      const view = document.createElement('button');
      view.type = 'button';
      view.className = 'job';
      view.textContent = describe(job);
      view.setAttribute('aria-pressed', String(shown === job.id));
      view.setAttribute('aria-label', `Show the curves of job ${job.id}: ${describe(job)}`);
      view.addEventListener('click', async () => {
        shown = job.id;
        await loadHistory(job.id);
        render();
      });
      item.append(view);
      const p = progressOf(job);
      if (p.total) {
        const bar = document.createElement('progress');
        bar.max = p.total;
        bar.value = p.step ?? 0;
        bar.setAttribute('aria-label', `progress of job ${job.id}`);
        item.append(bar);
      }
      const version = publishedOf(job);
      if (job.status === 'succeeded' && version !== null && job.model) {
        const promote = document.createElement('button');
        promote.type = 'button';
        promote.textContent = `Promote v${version} to current`;
        promote.setAttribute('aria-label', `Promote ${job.model} version ${version} to current`);
        promote.addEventListener('click', async () => {
          showError('');
          try {
            await api(`/v1/models/${encodeURIComponent(job.model)}/aliases/current`, { method: 'PUT', body: { version }, token: token() });
            promote.textContent = `v${version} is current`;
            await onPromoted();
          } catch (e) {
            showError(`Promote failed: ${e.message}`);
          }
        });
        item.append(promote);
      }
      list.append(item);
    }
    drawCurves();
  };

  const follow = (job) => {
    if (FINISHED.has(job.status) || streams.has(job.id) || typeof EventSource === 'undefined') return;
    const source = new EventSource(`/v1/jobs/${encodeURIComponent(job.id)}/events`);
    streams.set(job.id, source);
    source.onmessage = (event) => {
      let update;
      try {
        update = JSON.parse(event.data);
      } catch {
        return;
      }
      // An event is the job itself, or its progress alone.
      const next = update && update.id !== undefined ? update : { ...jobs.get(job.id), progress: update.progress ?? update, status: update.status ?? jobs.get(job.id).status };
      jobs.set(job.id, next);
      record(job.id, progressOf(next));
      if (FINISHED.has(next.status)) {
        source.close();
        streams.delete(job.id);
      }
      render();
    };
    source.onerror = () => {
      // The server closes the stream when the job ends; the next refresh reconnects if not.
      source.close();
      streams.delete(job.id);
    };
  };

  const loadHistory = async (id) => {
    // A job's curves: its recorded history when the server keeps one, else what the events brought.
    try {
      const job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
      for (const p of job.history ?? job.progressHistory ?? []) record(id, p);
      record(id, progressOf(job));
      jobs.set(id, job);
    } catch (e) {
      showError(e.message);
    }
  };

  const refresh = async () => {
    let body;
    try {
      body = await api('/v1/jobs');
    } catch (e) {
      if (e.status === 404) {
        $('jobs-panel').hidden = true;
        return;
      }
      $('jobs-panel').hidden = false;
      showError(`Cannot list the jobs: ${e.message}`);
      return;
    }
    showError('');
    $('jobs-panel').hidden = false;
    const list = Array.isArray(body) ? body : body?.jobs ?? [];
    jobs.clear();
    for (const job of list) {
      jobs.set(job.id, job);
      record(job.id, progressOf(job));
      follow(job);
    }
    if (shown === null && list.length) shown = list[0].id;
    render();
  };

  $('jobs-refresh').addEventListener('click', refresh);
  refresh();
}
