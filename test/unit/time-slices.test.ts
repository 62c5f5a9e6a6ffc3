import { describe, expect, it } from 'vitest';
import { TimeSlicer } from '../../common/time-slices.js';

/** A clock each task advances by its cost, and the loop's turns run by hand. */
function rig(o: { sliceMs?: number; maxQueued?: number } = {}) {
  let now = 0;
  const turns: (() => void)[] = [];
  const errors: unknown[] = [];
  const slicer = new TimeSlicer({ ...o, now: () => now, turn: (run) => turns.push(run), onError: (e) => errors.push(e) });
  const turn = () => {
    const due = turns.splice(0);
    for (const run of due) run();
    return due.length;
  };
  return { slicer, turn, errors, advance: (ms: number) => (now += ms) };
}

describe('time slices', () => {
  it('runs a lone task at once', () => {
    const { slicer } = rig();
    const ran: number[] = [];
    slicer.push({ run: () => ran.push(1) });
    expect(ran).toEqual([1]);
    expect(slicer.queued).toBe(0);
  });

  it('cuts a burst pushed in one turn into slices, in order, with a turn of the loop between them', () => {
    const { slicer, turn, advance } = rig({ sliceMs: 10 });
    const ran: number[] = [];
    // 25 tasks of 4 ms each, all pushed in the same turn (one socket read of 25 session-opens).
    for (let i = 0; i < 25; i++) slicer.push({ run: () => (ran.push(i), advance(4)) });
    // The first slice: tasks until 10 ms are used (4 + 4 + 4 = 12 ≥ 10 after the third).
    expect(ran).toEqual([0, 1, 2]);
    expect(slicer.queued).toBe(22);
    const slices: number[] = [ran.length];
    while (slicer.queued > 0) {
      expect(turn()).toBeGreaterThan(0);
      slices.push(ran.length - slices.reduce((a, b) => a + b, 0));
    }
    expect(ran).toEqual([...Array(25).keys()]);
    expect(Math.max(...slices)).toBe(3);
  });

  it('keeps order when a task arrives while others wait for a turn', () => {
    const { slicer, turn, advance } = rig({ sliceMs: 10 });
    const ran: string[] = [];
    slicer.push({ run: () => (ran.push('open'), advance(20)) });
    slicer.push({ run: () => ran.push('signal') });
    expect(ran).toEqual(['open']);
    turn();
    // A turn later (the slice was reset): the held one goes first, then the newcomer.
    slicer.push({ run: () => ran.push('close') });
    turn();
    expect(ran).toEqual(['open', 'signal', 'close']);
  });

  it('refuses a task past the bound (its refusal runs at once) and runs the rest', () => {
    const { slicer, turn, advance } = rig({ sliceMs: 1, maxQueued: 3 });
    const ran: number[] = [];
    const refused: number[] = [];
    slicer.push({ run: () => (ran.push(0), advance(5)) });
    for (let i = 1; i <= 5; i++) slicer.push({ run: () => ran.push(i), refused: () => refused.push(i) });
    expect(refused).toEqual([4, 5]);
    while (slicer.queued > 0) turn();
    expect(ran).toEqual([0, 1, 2, 3]);
  });

  it('a task that throws is reported and the rest still run', () => {
    const { slicer, errors } = rig();
    const ran: number[] = [];
    slicer.push({
      run: () => {
        throw new Error('boom');
      },
    });
    slicer.push({ run: () => ran.push(2) });
    expect(errors).toHaveLength(1);
    expect(ran).toEqual([2]);
  });

  it('a task that pushes another runs it after itself, not inside', () => {
    const { slicer } = rig();
    const ran: string[] = [];
    slicer.push({
      run: () => {
        slicer.push({ run: () => ran.push('inner') });
        ran.push('outer');
      },
    });
    expect(ran).toEqual(['outer', 'inner']);
  });
});
