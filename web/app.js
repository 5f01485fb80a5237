// The trace page: pick a model and version, give an input (grid, text, or a held-out
// example; for a codec model a record as JSON or a text, in the shape GET .../codec states),
// run it through POST .../analyze with the trace, and step through the answer (a codec
// model's label and its probability) the model held after each ACT step. URL parameters
// ?model=NAME&version=V&seed=S pick the model, the version and the held-out example on
// load, so a view can be shared.
import { api, ApiError, modelPath } from './api.js';
import { cellsOf, layoutFor, textOf } from './cells.js';
import { traceChart } from './chart.js';
import { gridEditor } from './grid-editor.js';
import { startJobsPanel } from './jobs.js';
import { renderAnswer, wrongPositions } from './trace-view.js';

const $ = (id) => document.getElementById(id);
const GRID_TASKS = new Set(['sudoku4', 'sudoku9', 'maze']);
const STOP_REASONS = {
  halt: 'the halting head said stop: p(halt) passed the threshold',
  maxSteps: 'it ran to the step limit',
  confidence: 'the confidence reached the confidence threshold',
  stable: 'the answer stopped changing for the required number of steps',
};

const state = {
  models: [],
  model: null,
  versionRef: '',
  info: null, // { task, seqLen, vocab, maxSteps, parses, codec } of the selected version (codec: GET .../codec, or null)
  layout: null,
  editor: null,
  example: null, // the drawn held-out example, while the input is unedited
  inputSnapshot: null, // { text, tokens } of the input last run, for step 1's changes
  result: null,
  step: 1,
  chart: null,
};
// Exposed for the browser tests and for poking at a result from the console.
window.trmPage = state;

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = message === '';
}

function setLoading(text) {
  $('loading').textContent = text;
  $('run').disabled = text !== '';
  $('draw').disabled = text !== '';
  document.body.classList.toggle('busy', text !== '');
}

function showResultPanel(shown) {
  $('result-panel').hidden = !shown;
  $('result-placeholder').hidden = shown;
}

function percent(accuracy) {
  return accuracy ? `${(accuracy.exact * 100).toFixed(1)}% (${accuracy.correct}/${accuracy.count})` : null;
}

function versionSummary() {
  const model = state.models.find((m) => m.name === state.model);
  if (!model) return null;
  const number = state.versionRef === '' ? model.defaultVersion
    : /^\d+$/.test(state.versionRef) ? Number(state.versionRef) : model.aliases[state.versionRef];
  return model.versions.find((v) => v.version === number) ?? null;
}

function renderMetadata() {
  const v = versionSummary();
  const dl = $('metadata');
  dl.replaceChildren();
  if (!v) return;
  const info = state.info;
  const rows = [
    ['version', `${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}`],
    ['task', v.task ?? 'none'],
    ['size', info ? `${info.seqLen} positions, vocabulary ${info.vocab}, up to ${info.maxSteps} ACT steps` : null],
    ['held-out accuracy', [percent(v.heldOutAccuracy?.fixed) && `${percent(v.heldOutAccuracy.fixed)} fixed steps`,
      percent(v.heldOutAccuracy?.adaptive) && `${percent(v.heldOutAccuracy.adaptive)} adaptive`].filter(Boolean).join('; ') || 'not stated'],
    ['trained on', v.trainingSamples ? [v.trainingSamples.distinct && `${v.trainingSamples.distinct.toLocaleString('en')} distinct examples`,
      v.trainingSamples.steps && `${v.trainingSamples.steps.toLocaleString('en')} steps`].filter(Boolean).join(', ') : null],
    ['created', v.created ? new Date(v.created).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : null],
    ['source', v.source],
  ];
  for (const [term, value] of rows) {
    if (value === null || value === undefined || value === '') continue;
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

function fillVersions(preferred) {
  const model = state.models.find((m) => m.name === state.model);
  const select = $('version');
  select.replaceChildren();
  const add = (value, text) => {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = text;
    select.append(option);
  };
  for (const [alias, version] of Object.entries(model.aliases).sort(([a], [b]) => (a === 'current' ? -1 : b === 'current' ? 1 : a.localeCompare(b)))) {
    add(alias, `${alias} (v${version})`);
  }
  if (!('current' in model.aliases)) add('', `default (v${model.defaultVersion ?? '?'})`);
  for (const v of [...model.versions].reverse()) add(String(v.version), `v${v.version}${v.created ? `, ${v.created.slice(0, 10)}` : ''}`);
  const values = [...select.options].map((o) => o.value);
  select.value = values.includes(preferred) ? preferred : ('current' in model.aliases ? 'current' : '');
  state.versionRef = select.value;
}

function inputMode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

function setMode(mode) {
  const gridAllowed = state.layout !== null;
  const chosen = mode === 'grid' && !gridAllowed ? 'text' : mode;
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.checked = radio.value === chosen;
    if (radio.value === 'grid') radio.disabled = !gridAllowed;
  }
  $('grid-editor').hidden = chosen !== 'grid';
  $('text-label').hidden = chosen !== 'text';
  const task = state.info?.task;
  const codec = state.info?.codec;
  $('input-help').textContent = codec ? codecHelp(codec) : chosen === 'grid'
    ? (state.layout.kind === 'sudoku'
      ? `Type a digit 1-${state.layout.n} in a cell, or leave it empty for a blank. Arrow keys move between cells.`
      : 'Enter, Space or a click toggles wall and open; type S for the start, G for the goal, # or . Arrow keys move between cells.')
    : task === 'compliance' ? 'Clauses "ELEMENT RULE MEASURED THRESHOLD", separated by ";" or new lines, e.g. "door min_width 80 85; stair max_riser 175 180".'
      : task && GRID_TASKS.has(task) ? 'The puzzle as text, as trm solve --input reads it.'
        : state.info && !state.info.parses ? `This model has no text form: type its ${state.info.seqLen} input tokens, separated by commas or spaces.`
          : 'The input in the task\'s text form.';
}

/** What a codec model reads, from GET .../codec: its record's fields, or its text's limit. */
function codecHelp(codec) {
  if (codec.kind === 'text') {
    return `A text of up to ${codec.maxLength} bytes (longer text is cut, and the answer says so)${codec.lowercase ? ', read lower-cased' : ''}. `
      + `It answers ${codec.labels.map((l) => l.name).join(', ')}.`;
  }
  const fields = codec.fields.map((f) => `${f.path} (${f.type === 'number' ? `number ${f.min} to ${f.max}` : f.type === 'category' ? `one of ${f.values.slice(0, 6).join(', ')}${f.values.length > 6 ? ', ...' : ''}` : 'true or false'}${f.optional ? ', optional' : ''})`);
  return `A record as JSON, with the fields ${fields.join('; ')}. It answers ${codec.labels.map((l) => l.name).join(', ')}. `
    + 'A category value it never saw is read as unknown; a number out of range is refused.';
}

function inputEdited() {
  state.example = null;
  $('label-figure').hidden = true;
}

function loadInput(text, tokens) {
  $('text-input').value = text ?? (tokens ? tokens.join(', ') : '');
  if (state.layout && text !== null) {
    state.editor = gridEditor($('grid-editor'), state.layout, cellsOf(state.layout, text), (cells) => {
      $('text-input').value = textOf(state.layout, cells);
      inputEdited();
    });
  } else {
    $('grid-editor').replaceChildren();
    state.editor = null;
  }
}

async function drawExample(seed) {
  showError('');
  setLoading('Drawing a held-out example…');
  try {
    const ex = await api(`${modelPath(state.model, state.versionRef)}/example${seed ? `?seed=${encodeURIComponent(seed)}` : ''}`);
    state.layout = layoutFor(ex.task, ex.text ?? ex.display);
    state.example = ex;
    loadInput(ex.text, ex.text === null ? ex.inputs : null);
    setMode(state.layout ? 'grid' : 'text');
    $('input-help').textContent += ` Held-out example, seed ${ex.seed} (trm solve --random --seed ${ex.seed} draws it too).`;
    if (ex.text === null) $('input-help').textContent += ` As the task shows it:\n${ex.display}`;
  } catch (e) {
    showError(e.message);
  } finally {
    setLoading('');
  }
}

async function selectVersion(seed) {
  state.versionRef = $('version').value;
  state.info = null;
  state.layout = null;
  state.example = null;
  showResultPanel(false);
  renderMetadata();
  try {
    const meta = await api(`/v2/models/${encodeURIComponent(state.model)}${state.versionRef ? `/versions/${encodeURIComponent(state.versionRef)}` : ''}`);
    const seqLen = meta.inputs[0].shape[1];
    const vocab = meta.outputs.find((o) => o.name === 'logits')?.shape[2];
    const task = meta.parameters?.task ?? null;
    const codec = versionSummary()?.codec ? await api(`${modelPath(state.model, state.versionRef)}/codec`) : null;
    state.info = { task, seqLen, vocab, maxSteps: meta.parameters?.halt_max_steps, parses: task !== null && (GRID_TASKS.has(task) || task === 'compliance'), codec };
  } catch (e) {
    showError(e.message);
    return;
  }
  renderMetadata();
  if (state.info.codec) {
    const { codec } = state.info;
    $('draw').disabled = true;
    loadInput(codec.kind === 'record' ? JSON.stringify(codec.sample, null, 2) : codec.sample, null);
    $('text-input').placeholder = codec.kind === 'text' ? 'e.g. set an alarm for 7am and check the weather' : '';
    setMode('text');
    return;
  }
  $('text-input').placeholder = '';
  if (state.info.parses) {
    await drawExample(seed);
  } else {
    $('draw').disabled = true;
    loadInput(null, null);
    setMode('text');
  }
  $('draw').disabled = !state.info.parses;
}

async function selectModel(preferredVersion, seed) {
  state.model = $('model').value;
  fillVersions(preferredVersion);
  await selectVersion(seed);
}

function currentInput() {
  if (state.example) return { input: state.example.inputs, puzzleIdentifier: state.example.puzzleIdentifier };
  const text = inputMode() === 'grid' && state.editor ? textOf(state.layout, state.editor.cells()) : $('text-input').value;
  if (state.info?.codec?.kind === 'record') {
    let record;
    try {
      record = JSON.parse(text);
    } catch (e) {
      throw new ApiError(`input: not valid JSON (${e.message}); expected a record such as the one the page started with`, 400);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new ApiError('input: expected a JSON object (a record), not ' + (Array.isArray(record) ? 'an array' : typeof record), 400);
    return { input: record };
  }
  if (state.info?.codec) return { input: text };
  if (state.info && !state.info.parses) {
    const words = text.split(/[\s,]+/).filter((w) => w !== '');
    const tokens = words.map(Number);
    const bad = words.findIndex((w) => !/^-?\d+$/.test(w));
    if (bad >= 0) throw new ApiError(`input: token ${bad + 1} ("${words[bad]}") is not an integer; expected ${state.info.seqLen} token ids`, 400);
    return { input: tokens };
  }
  return { input: text };
}

function runOptions() {
  const options = { trace: true };
  const maxSteps = $('max-steps').value.trim();
  const threshold = $('halt-threshold').value.trim();
  // Sent as typed: the server checks the values and names the field when one is wrong.
  if (maxSteps !== '') options.maxSteps = Number(maxSteps);
  if ($('all-steps').checked) options.haltThreshold = null;
  else if (threshold !== '') options.haltThreshold = Number(threshold);
  return options;
}

async function run() {
  showError('');
  let body;
  try {
    body = { ...currentInput(), options: runOptions() };
  } catch (e) {
    showError(e.message);
    return;
  }
  const inputText = typeof body.input === 'string' ? body.input : null;
  setLoading('Running…');
  try {
    const result = await api(`${modelPath(state.model, state.versionRef)}/analyze`, { method: 'POST', body });
    const example = state.example;
    // A codec model's answer is its label, nothing like its input: step 1 has no "before".
    state.inputSnapshot = state.info?.codec ? null : example
      ? { text: example.display, tokens: example.inputs }
      : { text: inputText, tokens: Array.isArray(body.input) ? body.input : [] };
    // Compare like with like: a grid's cells, or a text form's lines only when the input is in the answer's form.
    if (!state.layout && state.inputSnapshot && state.inputSnapshot.text !== null && result.answer !== null
      && state.inputSnapshot.text.split('\n').length !== result.answer.split('\n').length) state.inputSnapshot = null;
    state.result = { ...result, example };
    showResult();
  } catch (e) {
    showError(e instanceof ApiError && e.status >= 400 && e.status < 500 ? `The server refused the input: ${e.message}` : e.message);
  } finally {
    setLoading('');
  }
}

function showResult() {
  const r = state.result;
  showResultPanel(true);
  const trace = r.trace ?? [];
  const last = trace[trace.length - 1];
  const reason = STOP_REASONS[r.stoppedBy] ?? `stopped by "${r.stoppedBy}"`;
  $('summary').textContent = `${r.model} v${r.version}: `
    + `${r.labelProbability !== undefined ? `answered ${r.answer} (probability ${r.labelProbability.toFixed(3)}); ` : ''}`
    + `stopped after ${r.steps} step${r.steps === 1 ? '' : 's'} (${r.stoppedBy}: ${reason}); `
    + `p(halt) ${r.haltProbability.toFixed(3)}, confidence ${r.confidence.toFixed(3)}.`;
  $('summary').dataset.stoppedBy = r.stoppedBy;
  const slider = $('step');
  slider.min = trace.length ? String(trace[0].step) : '1';
  slider.max = String(last ? last.step : 1);
  state.chart?.destroy();
  state.chart = trace.length ? traceChart($('chart'), trace, { current: r.steps, stop: r.stoppedBy, onPick: (step) => showStep(step) }) : null;
  // The label, when the input is a drawn example left as it was.
  const ex = r.example;
  if (ex) {
    const { wrong, labelled } = wrongPositions(r.prediction, ex.labels);
    const labelView = { layout: state.layout };
    renderAnswer($('label-view'), labelView, { text: ex.answer, tokens: ex.labels }, null, { label: 'Label' });
    $('label-figure').hidden = false;
    $('verdict').textContent = wrong.size === 0
      ? `Right: the final answer matches the label at all ${labelled} answer positions.`
      : `Wrong: ${wrong.size} of ${labelled} answer positions differ from the label (marked).`;
    $('verdict').className = `verdict ${wrong.size === 0 ? 'right' : 'wrong'}`;
  } else {
    $('label-figure').hidden = true;
    $('verdict').textContent = 'No label: the input was typed, so the right answer is not known here (a held-out example has one).';
    $('verdict').className = 'verdict';
  }
  showStep(last ? last.step : 1);
}

function showStep(step) {
  const r = state.result;
  if (!r?.trace?.length) return;
  const trace = r.trace;
  const index = Math.max(0, Math.min(trace.length - 1, trace.findIndex((s) => s.step === step)));
  const record = trace[index];
  state.step = record.step;
  $('step').value = String(record.step);
  $('step').setAttribute('aria-valuetext', `step ${record.step} of ${trace[trace.length - 1].step}`);
  $('step-label').textContent = `step ${record.step} / ${trace[trace.length - 1].step}`;
  $('prev').disabled = index === 0;
  $('next').disabled = index === trace.length - 1;
  const previous = index > 0 ? { text: trace[index - 1].answer, tokens: trace[index - 1].prediction } : state.inputSnapshot;
  const isLast = index === trace.length - 1;
  const marks = isLast && r.example ? wrongPositions(record.prediction, r.example.labels).wrong : null;
  const changed = renderAnswer($('answer-view'), { layout: state.layout }, { text: record.answer, tokens: record.prediction }, previous,
    { givens: givenCells(), marks, label: `Answer at step ${record.step}` });
  const unit = state.layout ? 'cell' : record.label !== undefined ? 'label' : record.answer !== null ? 'line' : 'token';
  $('answer-caption').textContent = `Answer at step ${record.step}${isLast ? ' (final)' : ''}`;
  // A codec model's step as the server writes it: "step 3: FAIL 0.91 (changed from PASS)".
  $('step-stats').textContent = `${record.text ? `${record.text}. ` : ''}Step ${record.step}: p(halt) ${record.haltProbability.toFixed(3)}, confidence ${record.confidence.toFixed(3)}, `
    + `${changed} ${unit}${changed === 1 ? '' : 's'} changed on screen (${record.changed} token${record.changed === 1 ? '' : 's'} by the server's count)`
    + `${record.halted ? '; halting stops here' : ''}${isLast ? `; stopped: ${r.stoppedBy}` : ''}.`;
  state.chart?.mark(record.step);
}

function givenCells() {
  if (!state.layout || state.layout.kind !== 'sudoku' || !state.inputSnapshot?.text) return null;
  return cellsOf(state.layout, state.inputSnapshot.text).map((c) => c !== '.');
}

function moveStep(delta) {
  const trace = state.result?.trace;
  if (!trace?.length) return;
  const index = trace.findIndex((s) => s.step === state.step);
  const next = trace[Math.max(0, Math.min(trace.length - 1, index + delta))];
  showStep(next.step);
}

async function init() {
  $('prev').addEventListener('click', () => moveStep(-1));
  $('next').addEventListener('click', () => moveStep(1));
  $('step').addEventListener('input', () => showStep(Number($('step').value)));
  document.addEventListener('keydown', (event) => {
    // Arrow keys step through the trace, except where they already mean something (a field, a cell, a list).
    if (!state.result || $('result-panel').hidden || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest('input, textarea, select, .grid-editor') && target.id !== 'step') return;
    if (target.id === 'step') return; // the range input moves itself and fires 'input'
    if (event.key === 'ArrowLeft') moveStep(-1);
    else if (event.key === 'ArrowRight') moveStep(1);
    else return;
    event.preventDefault();
  });
  $('run').addEventListener('click', run);
  $('draw').addEventListener('click', () => drawExample());
  $('model').addEventListener('change', () => selectModel());
  $('version').addEventListener('change', () => selectVersion());
  $('text-input').addEventListener('input', () => {
    inputEdited();
    if (state.layout) {
      try {
        const cells = cellsOf(state.layout, $('text-input').value);
        if (cells.length === state.layout.n * state.layout.n) {
          state.editor = gridEditor($('grid-editor'), state.layout, cells, (c) => {
            $('text-input').value = textOf(state.layout, c);
            inputEdited();
          });
        }
      } catch {
        // The text is checked by the server on Run; the grid keeps its last good state.
      }
    }
  });
  for (const radio of document.querySelectorAll('input[name="mode"]')) radio.addEventListener('change', () => setMode(inputMode()));

  const params = new URLSearchParams(location.search);
  setLoading('Loading models…');
  try {
    const { models } = await api('/v1/models');
    state.models = models;
  } catch (e) {
    showError(`Cannot list the models: ${e.message}`);
    return;
  } finally {
    setLoading('');
  }
  const select = $('model');
  for (const m of state.models) {
    const option = document.createElement('option');
    option.value = m.name;
    const task = m.versions.find((v) => v.version === m.defaultVersion)?.task;
    option.textContent = `${m.name}${task && !task.startsWith('none') ? ` (${task})` : ''}${m.state === 'READY' ? '' : ` [${m.state.toLowerCase()}]`}`;
    select.append(option);
  }
  const wanted = params.get('model');
  const firstGrid = state.models.find((m) => m.state === 'READY' && GRID_TASKS.has(m.versions.find((v) => v.version === m.defaultVersion)?.task));
  select.value = state.models.some((m) => m.name === wanted) ? wanted : (firstGrid ?? state.models[0])?.name ?? '';
  if (select.value) await selectModel(params.get('version') ?? undefined, params.get('seed') ?? undefined);
  startJobsPanel({ onPromoted: async () => {
    state.models = (await api('/v1/models')).models;
    fillVersions($('version').value);
    renderMetadata();
  } });
}

init();
