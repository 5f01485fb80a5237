/**
 * Fixed-point numbers as digit tokens: a sign token when the range has negatives, then the
 * integer digits and the decimals, most significant first, zero padded to a fixed width. Two
 * numbers with the same layout line up digit by digit, so "is actual >= required" is a
 * comparison of aligned digit tokens, which a small model learns (the shipped compliance
 * task's encoding); one token per value, or the value's magnitude as a float, would not give
 * it that. The layout holds every value in [min, max] with `decimals` digits after the point;
 * anything else is an InputError, never a silent rounding that could flip a comparison.
 */
import { InputError } from '../errors';

export interface NumberLayout {
  min: number;
  max: number;
  /** Digits after the decimal point (0: integers). */
  decimals: number;
}

/** Largest number of digits (integer + decimals) a layout may use: its scaled values stay exact in a double. */
export const MAX_NUMBER_DIGITS = 15;

export function integerDigits(layout: NumberLayout): number {
  const largest = Math.floor(Math.max(Math.abs(layout.min), Math.abs(layout.max)));
  return Math.max(1, String(largest).length);
}

/** Tokens a number of this layout takes. */
export function numberWidth(layout: NumberLayout): number {
  return (layout.min < 0 ? 1 : 0) + integerDigits(layout) + layout.decimals;
}

/** Digits after the point of `value` as JavaScript writes it (1e-7 counts its 7). */
export function decimalsOf(value: number): number {
  const text = String(Math.abs(value));
  const exp = /e-(\d+)$/.exec(text);
  if (exp) {
    const mantissa = text.slice(0, exp.index);
    return Number(exp[1]) + (mantissa.split('.')[1]?.length ?? 0);
  }
  return text.split('.')[1]?.length ?? 0;
}

/**
 * The tokens of `value` (a sign token from `tokens.minus`/`tokens.plus`, then digit tokens
 * `tokens.digit0 + d`), written into `out` at `at`. `field` names the value in errors.
 */
export function writeNumber(value: unknown, layout: NumberLayout, out: Int32Array, at: number, tokens: { digit0: number; minus: number; plus: number }, field: string): void {
  const expected = `a number in [${layout.min}, ${layout.max}] with at most ${layout.decimals} decimal(s)`;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError('not a number', { field, value, expected });
  if (value < layout.min || value > layout.max) throw new InputError('number out of range', { field, value, expected });
  if (decimalsOf(value) > layout.decimals) throw new InputError('more decimals than the field has', { field, value, expected });
  // decimalsOf says the scaled value is a whole number; rounding removes binary noise (0.1 * 10 = 1.0000000000000002).
  const scaled = Math.round(Math.abs(value) * 10 ** layout.decimals);
  const digits = integerDigits(layout) + layout.decimals;
  let p = at;
  if (layout.min < 0) out[p++] = value < 0 ? tokens.minus : tokens.plus;
  const text = String(scaled).padStart(digits, '0');
  for (let k = 0; k < digits; k++) out[p + k] = tokens.digit0 + (text.charCodeAt(k) - 48);
}

/** The number the tokens at `at` hold (the inverse of writeNumber). */
export function readNumber(tokens: ArrayLike<number>, at: number, layout: NumberLayout, ids: { digit0: number; minus: number; plus: number }, field: string): number {
  let p = at;
  let sign = 1;
  if (layout.min < 0) {
    const s = tokens[p++];
    if (s !== ids.minus && s !== ids.plus) throw new InputError('not a sign token', { field, value: s, expected: `${ids.plus} (+) or ${ids.minus} (-)` });
    sign = s === ids.minus ? -1 : 1;
  }
  const digits = integerDigits(layout) + layout.decimals;
  let scaled = 0;
  for (let k = 0; k < digits; k++) {
    const d = tokens[p + k] - ids.digit0;
    if (!(d >= 0 && d <= 9)) throw new InputError('not a digit token', { field, value: tokens[p + k], expected: `a digit token in [${ids.digit0}, ${ids.digit0 + 9}]` });
    scaled = scaled * 10 + d;
  }
  const value = sign * scaled / 10 ** layout.decimals;
  return Number(value.toFixed(layout.decimals)) + 0; // + 0 turns -0 into 0
}
