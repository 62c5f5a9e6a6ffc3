// Who may write a stream's copy on this server: its first publisher, while it is open, from a chunk it still has.
import { describe, expect, it } from 'vitest';
import { attachRefusal, type CopyHere } from '../../node-app/ingest/attach-check.js';

const copy: CopyHere = { secret: 'secret-of-the-first', state: 'open', nextSeq: 10 };

describe('attachRefusal', () => {
  it('lets the owner continue an open copy from any chunk up to the one it needs next', () => {
    expect(attachRefusal('s', copy, copy.secret, 0)).toBeUndefined();
    expect(attachRefusal('s', copy, copy.secret, 10)).toBeUndefined();
  });

  it('refuses a publisher that cannot send the chunks the copy lacks', () => {
    expect(attachRefusal('s', copy, copy.secret, 11)?.code).toBe('cannot-resume');
  });

  it('refuses another publisher of the same id, and a copy no longer open', () => {
    expect(attachRefusal('s', copy, 'secret-of-another', 0)?.code).toBe('not-owner');
    expect(attachRefusal('s', { ...copy, state: 'ending' }, copy.secret, 0)?.code).toBe('conflict');
  });

  it('starts a new copy only from chunk 0', () => {
    expect(attachRefusal('s', undefined, 'any', 0)).toBeUndefined();
    expect(attachRefusal('s', undefined, 'any', 1)?.code).toBe('cannot-resume');
  });
});
