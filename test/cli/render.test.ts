/** Colour decisions, change highlighting and the side-by-side layout of the demo. */
import { describe, expect, it } from 'vitest';
import { colorEnabled, highlightChanges, sideBySide, visibleWidth } from '../../lib/cli/render';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;
const mark = (s: string) => `[${s}]`;

describe('colorEnabled', () => {
  it('colours a terminal unless NO_COLOR is set, and never a pipe unless FORCE_COLOR is', () => {
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: only a non-empty value counts
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(pipe, { FORCE_COLOR: '0' })).toBe(false);
  });
});

describe('highlightChanges', () => {
  it('marks changed characters of a grid, runs as one, blanks included', () => {
    expect(highlightChanges('1 . | . 4\n. . | . .', '1 2 | 3 4\n. . | o o', mark, 'char')).toBe('1 [2] | [3] 4\n. . | [o] [o]');
    expect(highlightChanges('#  S', '#ooS', mark, 'char')).toBe('#[oo]S');
    expect(highlightChanges('#o #', '#  #', mark, 'char')).toBe('#[ ] #');
  });

  it('marks changed words of a rule list, even where they share letters', () => {
    expect(highlightChanges('1. door min_width: 80 cm >= 85 cm -> PASS', '1. door min_width: 80 cm >= 85 cm -> FAIL', mark, 'word'))
      .toBe('1. door min_width: 80 cm >= 85 cm -> [FAIL]');
  });
});

describe('sideBySide', () => {
  it('lays blocks out in rows that fit the width, ignoring escape codes in widths', () => {
    const blocks = [
      { title: 'a', text: '12\n34' },
      { title: '\x1b[1mbb\x1b[0m', text: '5\n6' },
      { title: 'c', text: '78\n90' },
    ];
    expect(sideBySide(blocks, 9, 2)).toBe(['a   \x1b[1mbb\x1b[0m', '12  5', '34  6', '', 'c', '78', '90'].join('\n'));
    expect(visibleWidth('\x1b[30;43mx\x1b[0m')).toBe(1);
  });
});
