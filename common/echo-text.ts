// A client's text quoted back in a refusal (an HTTP body, an ack's message, a log line): bounded, and with every
// character that could hide text or reorder what a reader sees (controls, zero-width, bidi overrides) escaped.

/** Characters shown as `\uXXXX`: C0/C1 controls, the Arabic letter mark, zero-width and bidi controls, line/paragraph separators, BOM. */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;

/** At most `max` code points of `text` (then `…`), with hidden characters escaped. */
export function echoText(text: string, max = 80): string {
  const points = [...text];
  const cut = points.length > max ? `${points.slice(0, max).join('')}…` : text;
  return cut.replace(HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
