// The grid tasks' text forms as cells, both ways: what lib/tasks/sudoku.ts and maze.ts
// `format` print and `parse` read. A layout is null for a task without a grid (its text is
// shown as lines instead).

export function layoutFor(task, text) {
  if (task === 'sudoku4') return { kind: 'sudoku', n: 4, box: 2 };
  if (task === 'sudoku9') return { kind: 'sudoku', n: 9, box: 3 };
  if (task === 'maze' && typeof text === 'string') {
    const n = mazeLines(text).length;
    return n > 0 ? { kind: 'maze', n } : null;
  }
  return null;
}

function mazeLines(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines;
}

/** One character per cell, row-major: a digit or '.' (Sudoku); '#', ' ', 'S', 'G', 'o' (maze). */
export function cellsOf(layout, text) {
  if (layout.kind === 'sudoku') return [...text.replace(/[\s|+-]/g, '')].map((c) => (c === '0' || c === '_' ? '.' : c));
  const cells = [];
  for (const line of mazeLines(text)) {
    for (let c = 0; c < layout.n; c++) cells.push(c < line.length ? (line[c] === '.' ? ' ' : line[c]) : ' ');
  }
  return cells;
}

/** The text the server parses. Maze open cells go as '.', which survives trimming. */
export function textOf(layout, cells) {
  const rows = [];
  for (let r = 0; r < layout.n; r++) {
    const row = cells.slice(r * layout.n, (r + 1) * layout.n);
    rows.push(layout.kind === 'sudoku' ? row.map((c) => c || '.').join('') : row.map((c) => (c === ' ' ? '.' : c)).join(''));
  }
  return rows.join('\n');
}

export const MAZE_NAMES = { '#': 'wall', ' ': 'open', S: 'start', G: 'goal', o: 'path', '?': 'unknown' };

export function cellName(layout, ch) {
  if (layout.kind === 'maze') return MAZE_NAMES[ch] ?? ch;
  return ch === '.' ? 'blank' : ch;
}
