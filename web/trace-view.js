// The answer at one ACT step, drawn with what changed since the step before (step 1: since
// the input) highlighted: as a grid for Sudoku and mazes, as lines for other text forms, as
// tokens for a model without one. `marks` (a set of positions) flags cells that differ from
// the label.
import { cellName, cellsOf } from './cells.js';

/** Units to compare: grid cells, text lines or tokens. */
export function unitsOf(view, answer) {
  if (view.layout) return cellsOf(view.layout, answer.text);
  if (answer.text !== null) return answer.text.split('\n');
  return answer.tokens.map(String);
}

/**
 * Draws `answer` ({ text, tokens }) into `container`; `previous` is the answer (or input)
 * before it. Returns the number of units that changed.
 */
export function renderAnswer(container, view, answer, previous, { givens = null, marks = null, label = '' } = {}) {
  const units = unitsOf(view, answer);
  const before = previous ? unitsOf(view, previous) : null;
  let changed = 0;
  container.replaceChildren();
  if (view.layout) {
    const { n, kind } = view.layout;
    container.className = `grid ${kind} n${n}`;
    container.style.setProperty('--n', n);
    units.forEach((ch, i) => {
      const cell = document.createElement('span');
      cell.className = 'cell';
      cell.dataset.cell = ch;
      cell.textContent = kind === 'maze' && (ch === '#' || ch === ' ') ? '' : ch === '.' ? '' : ch;
      if (before && before[i] !== ch) {
        cell.classList.add('changed');
        changed++;
      }
      if (givens && givens[i]) cell.classList.add('given');
      if (marks && marks.has(i)) cell.classList.add('wrong');
      if (kind === 'sudoku') {
        const { box } = view.layout;
        if ((i % n) % box === box - 1 && i % n !== n - 1) cell.classList.add('box-right');
        if (Math.floor(i / n) % box === box - 1 && Math.floor(i / n) !== n - 1) cell.classList.add('box-bottom');
      }
      cell.title = `row ${Math.floor(i / n) + 1}, column ${(i % n) + 1}: ${cellName(view.layout, ch)}`;
      container.append(cell);
    });
  } else {
    container.className = answer.text !== null ? 'lines' : 'tokens';
    units.forEach((unit, i) => {
      const el = document.createElement(answer.text !== null ? 'div' : 'span');
      el.className = 'unit';
      el.textContent = unit;
      if (before && before[i] !== unit) {
        el.classList.add('changed');
        changed++;
      }
      if (marks && marks.has(i)) el.classList.add('wrong');
      container.append(el);
    });
  }
  container.setAttribute('role', 'img');
  container.setAttribute('aria-label', `${label}${changed > 0 ? `, ${changed} changed` : ''}: ${answer.text ?? answer.tokens.join(' ')}`);
  return changed;
}

/** Positions whose prediction differs from a labelled position of `labels` (-100: not asked). */
export function wrongPositions(prediction, labels) {
  const wrong = new Set();
  let labelled = 0;
  labels.forEach((label, i) => {
    if (label === -100) return;
    labelled++;
    if (prediction[i] !== label) wrong.add(i);
  });
  return { wrong, labelled };
}
