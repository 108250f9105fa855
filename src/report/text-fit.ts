/**
 * Text that fits its box without a browser to measure it: graph labels are set in a
 * monospace face, whose advance width is a fixed fraction of the font size, so a label's
 * width is known from its length. Longer labels are cut with an ellipsis and keep their
 * full text in a tooltip (the caller's <title>).
 */

/** Advance width of one monospace character per pixel of font size (DejaVu Sans Mono and Liberation Mono: 0.602). */
const MONO_ADVANCE = 0.61;

export const MONO_FONT_FAMILY = "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace";

/** Width in pixels of `text` at `fontSize` in the monospace face (by code point). */
export function monoWidth(text: string, fontSize: number): number {
  return Math.ceil([...text].length * fontSize * MONO_ADVANCE);
}

/** `text` cut to at most `maxWidth` pixels at `fontSize`, ending in "…" when cut. */
export function fitText(text: string, fontSize: number, maxWidth: number): { text: string; cut: boolean } {
  const chars = [...text];
  const fits = Math.floor(maxWidth / (fontSize * MONO_ADVANCE));
  if (chars.length <= fits) return { text, cut: false };
  return { text: chars.slice(0, Math.max(0, fits - 1)).join('') + '…', cut: true };
}
