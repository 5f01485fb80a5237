// An editable Sudoku or maze grid. One cell is in the tab order at a time (a roving
// tabindex); the arrow keys move between cells. Sudoku cells take a digit (empty: blank);
// maze cells cycle wall/open on Enter, Space or a click, and take '#', '.', 'S' and 'G' typed.
import { cellName } from './cells.js';

const MAZE_CYCLE = { '#': ' ', ' ': '#', S: '#', G: '#', o: ' ' };

export function gridEditor(container, layout, cells, onEdit) {
  const { n } = layout;
  const values = cells.slice();
  container.replaceChildren();
  container.className = `grid-editor grid ${layout.kind} n${n}`;
  container.setAttribute('role', 'group');
  container.setAttribute('aria-label', `${layout.kind === 'sudoku' ? 'Sudoku' : 'Maze'} input, ${n} by ${n}`);
  container.style.setProperty('--n', n);
  const elements = [];
  let active = 0;

  const describe = (i) => `row ${Math.floor(i / n) + 1}, column ${(i % n) + 1}: ${cellName(layout, values[i] || '.')}`;
  const paint = (i) => {
    const el = elements[i];
    if (layout.kind === 'sudoku') el.value = values[i] === '.' ? '' : values[i];
    else {
      el.dataset.cell = values[i];
      el.textContent = values[i] === '#' || values[i] === ' ' ? '' : values[i];
    }
    el.setAttribute('aria-label', describe(i));
  };
  const set = (i, ch) => {
    if (values[i] === ch) return;
    values[i] = ch;
    paint(i);
    onEdit(values.slice());
  };
  const focus = (i) => {
    elements[active].tabIndex = -1;
    active = i;
    elements[i].tabIndex = 0;
    elements[i].focus();
  };

  for (let i = 0; i < n * n; i++) {
    const el = document.createElement(layout.kind === 'sudoku' ? 'input' : 'button');
    el.className = 'cell';
    if (layout.kind === 'sudoku') {
      el.type = 'text';
      el.inputMode = 'numeric';
      el.maxLength = 1;
      el.autocomplete = 'off';
      el.addEventListener('input', () => {
        const digit = el.value.replace(/[^0-9]/g, '').slice(-1);
        const ok = digit !== '' && Number(digit) >= 1 && Number(digit) <= n;
        // Anything else (a letter, 0, a digit past n) is refused here and shown as blank;
        // a pasted whole puzzle belongs in the text form.
        el.value = ok ? digit : '';
        set(i, ok ? digit : '.');
      });
    } else {
      el.type = 'button';
      el.addEventListener('click', () => set(i, MAZE_CYCLE[values[i]] ?? '#'));
    }
    el.addEventListener('keydown', (event) => {
      const r = Math.floor(i / n), c = i % n;
      const move = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[event.key];
      if (move) {
        event.preventDefault();
        const rr = Math.min(n - 1, Math.max(0, r + move[0])), cc = Math.min(n - 1, Math.max(0, c + move[1]));
        focus(rr * n + cc);
        return;
      }
      if (layout.kind === 'maze') {
        const typed = { '#': '#', w: '#', W: '#', '.': ' ', s: 'S', S: 'S', g: 'G', G: 'G' }[event.key];
        if (typed) {
          event.preventDefault();
          set(i, typed);
        }
      } else if (event.key === 'Backspace' || event.key === 'Delete') {
        event.preventDefault();
        set(i, '.');
        el.value = '';
      }
    });
    el.addEventListener('focus', () => {
      elements[active].tabIndex = -1;
      active = i;
      el.tabIndex = 0;
    });
    el.tabIndex = i === 0 ? 0 : -1;
    if (layout.kind === 'sudoku') {
      const { box } = layout;
      if ((i % n) % box === box - 1 && i % n !== n - 1) el.classList.add('box-right');
      if (Math.floor(i / n) % box === box - 1 && Math.floor(i / n) !== n - 1) el.classList.add('box-bottom');
    }
    elements.push(el);
    container.append(el);
    paint(i);
  }
  return { cells: () => values.slice() };
}
