// Text a hub or media server sent, made safe to print on a terminal: control characters and bidi controls are shown, not obeyed.

/**
 * `s` with every character a terminal would act on written out as `\uXXXX`: C0 controls but tab and newline (ESC
 * starts colour, cursor, title and clipboard sequences; CR rewrites the line), DEL, C1 controls (0x9B is a one-byte
 * CSI), and the bidi controls that reorder what is shown (U+202E made "evil" read "live"). Error codes and messages,
 * server ids and reasons come from whatever hub the user named, and the SDK checks their type and length, not their
 * characters: printed as they came, a hub could clear the screen, retitle the window or set the clipboard (OSC 52).
 */
export function terminalText(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (!obeyed(s.charCodeAt(i))) continue;
    out += `${s.slice(from, i)}\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}`;
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

function obeyed(c: number): boolean {
  if (c < 0x20) return c !== 0x09 && c !== 0x0a;
  if (c >= 0x7f && c <= 0x9f) return true;
  return c === 0x061c || c === 0x200e || c === 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}
