// The line `baton publish` and `baton watch` print after a refusal: what to change, naming the flag.
import { describe, expect, it } from 'vitest';
import { publishHint, watchHint } from '../../node-app/cli/refusal-hints.js';

describe('CLI refusal hints', () => {
  it('baton publish names the flag to change for each refusal a user can fix', () => {
    expect(publishHint('unauthorized')).toMatch(/--stream-key.*baton stream-key/);
    expect(publishHint('unknown-place')).toMatch(/--location Lisbon.*--location 38\.72,-9\.14/);
    expect(publishHint('conflict')).toMatch(/another --stream-id/);
    expect(publishHint('too-many-broadcasts')).toMatch(/another --stream-key/);
    // The reason says it all (a file that is not WebM names itself), or nothing a flag can fix.
    for (const code of ['bad-file', 'unsupported-media', 'no-ingest', undefined]) expect(publishHint(code)).toBeUndefined();
  });

  it('baton watch points an unknown asset at the catalog of the hub it asked', () => {
    expect(watchHint('unknown-asset', 'http://127.0.0.1:8080/')).toBe('the assets there are: http://127.0.0.1:8080/api/catalog');
    expect(watchHint('hub-unreachable', 'http://127.0.0.1:8080')).toBeUndefined();
  });
});
