// The WHIP muxer's interleaver: blocks go out in time order across the tracks, as players need.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { Interleaver, MAX_INTERLEAVE_HELD_BYTES, MAX_INTERLEAVE_WAIT_MS, type TrackKind } from '../../node-app/whip/interleaver.js';

const f = (time: number, bytes = 10) => ({ data: Buffer.alloc(bytes), isKeyframe: false, time });

function rig(two = true) {
  const out: string[] = [];
  const late: TrackKind[] = [];
  const il = new Interleaver(
    two,
    (k, fr) => out.push(`${k[0]}${fr.time}`),
    (k) => late.push(k),
  );
  return { il, out, late };
}

describe('Interleaver', () => {
  it('audio ahead of a lagging video waits for it: the output is in time order', () => {
    const { il, out } = rig();
    il.push('video', f(0));
    for (const t of [20, 40, 60, 80]) il.push('audio', f(t));
    expect(out).toEqual(['v0']);
    il.push('video', f(33));
    il.push('video', f(66));
    il.push('video', f(99));
    expect(out).toEqual(['v0', 'a20', 'v33', 'a40', 'a60', 'v66', 'a80']);
  });

  it('a track that stops holds the other back at most MAX_INTERLEAVE_WAIT_MS; a frame older than what went is refused', () => {
    const { il, out, late } = rig();
    il.push('audio', f(0));
    il.push('video', f(0));
    for (let t = 33; t <= MAX_INTERLEAVE_WAIT_MS + 100; t += 33) il.push('video', f(t));
    const released = out.filter((x) => x.startsWith('v')).length;
    expect(released).toBeGreaterThan(1);
    expect(out.every((x, i) => i === 0 || Number(x.slice(1)) >= Number(out[i - 1]!.slice(1)))).toBe(true);
    // Audio from before what was released comes too late: refused, never written out of order.
    il.push('audio', f(20));
    expect(late).toEqual(['audio']);
  });

  it('bounds what it holds: a sender whose clock stands still cannot make it hoard', () => {
    const { il, out } = rig();
    il.push('audio', f(0));
    const frame = 1024 * 1024;
    for (let i = 0; i < 40; i++) il.push('video', f(10, frame));
    // Everything past the bound was written rather than held.
    expect(out.length).toBeGreaterThanOrEqual(40 - MAX_INTERLEAVE_HELD_BYTES / frame);
  });

  it('one track: nothing waits; flush writes what is held, in order', () => {
    const one = rig(false);
    one.il.push('video', f(0));
    one.il.push('video', f(33));
    expect(one.out).toEqual(['v0', 'v33']);
    const two = rig();
    two.il.push('video', f(0));
    two.il.push('audio', f(20));
    two.il.push('audio', f(40));
    two.il.flush();
    expect(two.out).toEqual(['v0', 'a20', 'a40']);
  });
});
