// Streams finalized moments ago, held for their publisher to carry on: bounded in number and in time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FinishedStreams } from '../../node-app/ingest/finished-streams.js';

afterEach(() => {
  vi.useRealTimers();
});

function item(name: string, closed: string[]) {
  return { name, letGo: async () => void closed.push(name) };
}

describe('FinishedStreams', () => {
  it('holds at most `max`: the oldest is let go (closed) first', () => {
    const closed: string[] = [];
    const f = new FinishedStreams<ReturnType<typeof item>>(2, 60_000);
    for (const id of ['a', 'b', 'c']) f.hold(id, item(id, closed));
    expect(f.size).toBe(2);
    expect(closed).toEqual(['a']);
    expect(f.get('a')).toBeUndefined();
    expect(f.get('c')?.name).toBe('c');
  });

  it('lets each go after `keptMs`; one taken is not closed, and a second hold of an id closes the first', async () => {
    vi.useFakeTimers();
    const closed: string[] = [];
    const f = new FinishedStreams<ReturnType<typeof item>>(8, 1_000);
    f.hold('a', item('a', closed));
    f.hold('b', item('b', closed));
    f.hold('b', item('b2', closed));
    expect(closed).toEqual(['b']);
    expect(f.take('a')?.name).toBe('a');
    await vi.advanceTimersByTimeAsync(1_001);
    expect(closed).toEqual(['b', 'b2']);
    expect(f.size).toBe(0);
  });
});
