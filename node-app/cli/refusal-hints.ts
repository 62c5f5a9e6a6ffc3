// What to do about a refusal the CLI reports: one line after the hub's reason, as the broadcast page says it beside
// the field to fix (web-client/components/broadcast-problems.ts).

/** For `baton publish`: what to change, by the refusal's code; undefined when the reason says it all. */
export function publishHint(code: string | undefined): string | undefined {
  switch (code) {
    case 'unauthorized':
      return 'check --stream-key: one the hub lists (its --stream-keys) or one minted with `baton stream-key` that has not expired';
    case 'unknown-place':
      return 'give --location a city the hub knows (--location Lisbon) or coordinates (--location 38.72,-9.14)';
    case 'conflict':
      return 'choose another --stream-id, or leave it out for a new one';
    case 'too-many-broadcasts':
      return 'end one of this key’s broadcasts, or use another --stream-key';
    default:
      return undefined;
  }
}

/** For `baton watch`: what to change, by the refusal's code; undefined when the reason says it all. */
export function watchHint(code: string | undefined, hubUrl: string): string | undefined {
  if (code === 'unknown-asset') return `the assets there are: ${hubUrl.replace(/\/+$/, '')}/api/catalog`;
  return undefined;
}
