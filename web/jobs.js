// The jobs panel: training jobs of the service (GET /v1/jobs), each with its status and
// progress, live over server-sent events (GET /v1/jobs/{id}/events: `progress` events, then
// `end`, each carrying the job as GET /v1/jobs/{id} shows it) while it runs, its loss and
// held-out accuracy curves, and a button that promotes the version a finished job published
// (PUT /v1/models/{name}/aliases/current, an admin route: the token field). A server without
// jobs answers 404 on GET /v1/jobs, one whose jobs cannot run (no repository) 409: the panel
// stays hidden.
//
// Fields read: job { id, kind, model, status, progress, error, version, result };
// progress { step, total, loss, etaSeconds, heldOut: { step, sets: { NAME: { exact } } } }.
// The curves are what this page saw: the job's state when listed, then each event.
import { api } from './api.js';
import uPlot from '/vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
const NO_JOBS = new Set([404, 409]);
const SET_COLOURS = ['#15803d', '#7c3aed', '#0e7490', '#a16207'];

const pct = (exact) => `${(exact * 100).toFixed(1)}%`;

function heldOutText(sets) {
  const entries = Object.entries(sets ?? {});
  if (entries.length === 1 && entries[0][0] === 'heldOut') return `held-out ${pct(entries[0][1].exact)}`;
  return entries.map(([name, acc]) => `${name} ${pct(acc.exact)}`).join(', ');
}

function describe(job) {
  const p = job.progress ?? {};
  const parts = [`${job.kind ?? 'job'} ${job.model ?? ''}`.trim(), job.status];
  if (typeof p.step === 'number') parts.push(`step ${p.step}${p.total ? ` of ${p.total}` : ''}`);
  if (typeof p.loss === 'number') parts.push(`loss ${p.loss.toFixed(4)}`);
  const sets = job.result?.heldOut ?? p.heldOut?.sets;
  if (sets && Object.keys(sets).length) parts.push(heldOutText(sets));
  if (typeof p.etaSeconds === 'number' && !FINISHED.has(job.status)) parts.push(`ETA ${Math.round(p.etaSeconds)} s`);
  if (job.version !== null && job.version !== undefined) parts.push(`published v${job.version}${job.result?.promoted ? ' (promoted)' : ''}`);
  if (job.error) parts.push(`error: ${job.error}`);
  return parts.join(' · ');
}

export function startJobsPanel({ onPromoted }) {
  const curves = new Map(); // job id -> { step: [steps], series: Map(name -> [value or null per step]) }
  const streams = new Map(); // job id -> EventSource
  const jobs = new Map();
  let shown = null;
  let chart = null;

  const showError = (message) => {
    $('jobs-error').textContent = message;
    $('jobs-error').hidden = message === '';
  };

  const record = (id, p) => {
    if (!p || typeof p.step !== 'number') return;
    const c = curves.get(id) ?? { step: [], series: new Map([['loss', []]]) };
    curves.set(id, c);
    // Points arrive from the list and the events, repeated and in any order: one per step, in step order.
    const put = (step, name, value) => {
      if (typeof value !== 'number') return;
      if (!c.series.has(name)) c.series.set(name, c.step.map(() => null));
      let at = c.step.findIndex((s) => s >= step);
      if (at === -1) at = c.step.length;
      if (c.step[at] !== step) {
        c.step.splice(at, 0, step);
        for (const values of c.series.values()) values.splice(at, 0, null);
      }
      c.series.get(name)[at] = value;
    };
    put(p.step, 'loss', p.loss);
    for (const [name, acc] of Object.entries(p.heldOut?.sets ?? {})) put(p.heldOut.step, name, acc.exact);
  };

  const drawCurves = () => {
    const c = shown && curves.get(shown);
    $('job-figure').hidden = !c || c.step.length === 0;
    if (!c || c.step.length === 0) return;
    $('job-caption').textContent = `Loss and held-out exact accuracy of job ${shown}`;
    const names = [...c.series.keys()];
    const data = [c.step, ...names.map((n) => c.series.get(n))];
    const container = $('job-chart');
    const key = `${shown}:${names.join()}`;
    if (chart && chart.trmKey === key) {
      chart.setData(data);
      return;
    }
    chart?.destroy();
    chart = new uPlot({
      width: Math.max(280, Math.min(container.clientWidth || 600, 900)),
      height: 200,
      scales: { x: { time: false }, acc: { range: [0, 1] } },
      axes: [
        { label: 'training step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] },
        { label: 'loss', scale: 'y' },
        { label: 'held-out exact', scale: 'acc', side: 1, grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        ...names.map((name, i) => (name === 'loss'
          ? { label: 'loss', stroke: '#c2410c', width: 2, scale: 'y', spanGaps: true }
          : { label: name === 'heldOut' ? 'held-out exact' : `${name} exact`, stroke: SET_COLOURS[(i - 1) % SET_COLOURS.length], width: 2, scale: 'acc', spanGaps: true, points: { show: true } })),
      ],
    }, data, container);
    chart.trmKey = key;
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
      view.addEventListener('click', () => {
        shown = job.id;
        render();
      });
      item.append(view);
      const p = job.progress ?? {};
      if (p.total) {
        const bar = document.createElement('progress');
        bar.max = p.total;
        bar.value = p.step ?? 0;
        bar.setAttribute('aria-label', `progress of job ${job.id}`);
        item.append(bar);
      }
      const version = job.version ?? null;
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
    const update = (event) => {
      let next;
      try {
        next = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!next || next.id !== job.id) return;
      jobs.set(job.id, next);
      record(job.id, next.progress);
      // Closed here: after `end` the server closes the stream, and an EventSource left open would reconnect.
      if (event.type === 'end' || FINISHED.has(next.status)) {
        source.close();
        streams.delete(job.id);
      }
      render();
    };
    source.addEventListener('progress', update);
    source.addEventListener('end', update);
    source.onmessage = update;
    source.onerror = () => {
      // The stream broke (the server went away): Refresh lists the jobs again and reconnects.
      source.close();
      streams.delete(job.id);
    };
  };

  const refresh = async () => {
    let body;
    try {
      body = await api('/v1/jobs');
    } catch (e) {
      if (NO_JOBS.has(e.status)) {
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
      record(job.id, job.progress);
      follow(job);
    }
    if (shown === null && list.length) shown = list[0].id;
    render();
  };

  $('jobs-refresh').addEventListener('click', refresh);
  refresh();
}
