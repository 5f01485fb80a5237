/**
 * Text output for people: colour only where it will be seen as colour, boards side by side,
 * and the characters that changed between two renderings of a board highlighted.
 */

/**
 * ANSI colour when stdout is a terminal and NO_COLOR is unset or empty (no-color.org);
 * FORCE_COLOR (non-empty, not "0") turns it on anyway, for pipes into `less -R` and for tests.
 */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

export interface Palette {
  /** A cell or word that changed since the step before (a background, so a blank that changed shows too). */
  changed(text: string): string;
  /** A cell or word that differs from the right answer. */
  wrong(text: string): string;
  good(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const ansi = (code: string) => (text: string) => `\x1b[${code}m${text}\x1b[0m`;
const plain = (text: string) => text;

export function palette(color: boolean): Palette {
  return color
    ? { changed: ansi('30;43'), wrong: ansi('37;41'), good: ansi('32'), bad: ansi('31'), dim: ansi('2'), bold: ansi('1') }
    : { changed: plain, wrong: plain, good: plain, bad: plain, dim: plain, bold: plain };
}

// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\x1b\[[0-9;]*m/g;

/** Columns a string takes on a terminal (escape sequences take none). */
export function visibleWidth(text: string): number {
  return text.replace(ANSI_PATTERN, '').length;
}

/**
 * `after` with its changes since `before` painted. 'char' compares position by position
 * (grids, where each character is a cell); 'word' compares whitespace-separated words, for
 * renderings where a changed answer is a word ("PASS" -> "FAIL" share an "A" that is no
 * less changed). Lines are matched by index; a line without a counterpart is all new.
 */
export function highlightChanges(before: string, after: string, paint: (text: string) => string, unit: 'char' | 'word'): string {
  const beforeLines = before.split('\n');
  return after.split('\n').map((line, i) => {
    const old = beforeLines[i];
    if (old === undefined) return paint(line);
    if (unit === 'char') {
      // Runs of changed characters are painted as one, so the escape codes stay few.
      let out = '';
      for (let k = 0; k < line.length;) {
        const changed = line[k] !== old[k];
        let end = k + 1;
        while (end < line.length && (line[end] !== old[end]) === changed) end++;
        out += changed ? paint(line.slice(k, end)) : line.slice(k, end);
        k = end;
      }
      return out;
    }
    const oldWords = old.split(/(\s+)/);
    return line.split(/(\s+)/).map((word, k) => (word.trim() !== '' && word !== oldWords[k] ? paint(word) : word)).join('');
  }).join('\n');
}

/**
 * Blocks of lines (each with a title) laid out left to right, as many per row as fit in
 * `width` columns, rows separated by a blank line.
 */
export function sideBySide(blocks: Array<{ title: string; text: string }>, width: number, gap = 3): string {
  const cells = blocks.map((b) => {
    const lines = [b.title, ...b.text.split('\n')];
    return { lines, width: Math.max(...lines.map(visibleWidth)) };
  });
  const rows: string[] = [];
  let start = 0;
  while (start < cells.length) {
    let end = start + 1;
    let used = cells[start].width;
    while (end < cells.length && used + gap + cells[end].width <= width) used += gap + cells[end++].width;
    const group = cells.slice(start, end);
    const height = Math.max(...group.map((c) => c.lines.length));
    for (let r = 0; r < height; r++) {
      rows.push(group.map((c, k) => {
        const line = c.lines[r] ?? '';
        return k === group.length - 1 ? line : line + ' '.repeat(c.width - visibleWidth(line) + gap);
      }).join('').trimEnd());
    }
    if (end < cells.length) rows.push('');
    start = end;
  }
  return rows.join('\n');
}

/** Columns to lay text out in: the terminal's width, or 100 when not a terminal. */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number {
  return Math.max(40, Math.min(stream.columns ?? 100, 140));
}

export function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
