// The player's rendition switching (rendition-switch.ts, auto-quality.ts): Auto's down-switch on a slow link, and
// none at the media's end — an ended clip stays ended.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Viewer } from '../../client-sdk/viewer.js';
import { RenditionSwitch } from '../../web-client/components/rendition-switch.js';
import type { Rung } from '../../web-client/components/rendition-ladder.js';

/** A 720p asset with a 144p rendition. */
const ladder: readonly Rung[] = [
  { id: 'clip', heightPx: 720, bitrateBps: 2_000_000 },
  { id: 'clip-144p', heightPx: 144, bitrateBps: 100_000 },
];

/** A switch over a stored asset of `durationS`, playing its top rung; `opens` records what it asked to play. */
function switchOver(durationS: number | null) {
  const opens: { streamId: string; startS: number | null }[] = [];
  const sw = new RenditionSwitch({
    playing: () => 'clip',
    canSwitch: () => true,
    durationS: () => durationS,
    open: (streamId, startS) => {
      opens.push({ streamId, startS });
      sw.opened({ assetId: streamId, close: () => undefined, limit: () => undefined } as unknown as Viewer);
    },
  });
  sw.begin('clip');
  return { sw, opens };
}

/** The link brought a trickle for three seconds (and then nothing, as after the last byte): Auto wants 144p. */
function slowLink(sw: RenditionSwitch): void {
  sw.received(1_000);
  vi.advanceTimersByTime(3_000);
}

describe('rendition switch', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['performance'] }));
  afterEach(() => void vi.useRealTimers());

  it('goes down to 144p at the end of the buffer when the link is slow', () => {
    const { sw, opens } = switchOver(60);
    slowLink(sw);
    sw.step(ladder, 10, 2);
    expect(opens).toEqual([{ streamId: 'clip-144p', startS: 12 }]);
  });

  it('does not switch once a short clip has ended (the playhead at its duration)', () => {
    const { sw, opens } = switchOver(3.02);
    slowLink(sw);
    sw.step(ladder, 3.02, 0);
    sw.step(ladder, 3.02, 0);
    expect(opens).toEqual([]);
  });

  it('does not switch at the end of a clip buffered to its end, nor past it', () => {
    const { sw, opens } = switchOver(3.02);
    slowLink(sw);
    sw.step(ladder, 1, 2.0); // buffered to 3.0 s, one frame short of the end
    sw.step(ladder, 2.5, 1.5); // buffered past the declared duration
    expect(opens).toEqual([]);
  });

  it('keeps Auto on the rung playing when it refused a switch at the end: a seek back finds it unchanged', () => {
    const { sw, opens } = switchOver(30);
    slowLink(sw);
    sw.step(ladder, 29.9, 0.1);
    expect(opens).toEqual([]);
    // Back at the start, the slow link still says 144p: Auto goes there, from where it thought it was (720p).
    sw.step(ladder, 0, 1);
    expect(opens).toEqual([{ streamId: 'clip-144p', startS: 1 }]);
  });

  it('plays a rung picked at the end from where the viewer then moves the playhead (a replay starts at 0)', () => {
    const { sw, opens } = switchOver(30);
    sw.pick('clip-144p', 29.8);
    expect(opens).toEqual([]);
    sw.seeked(0);
    expect(opens).toEqual([{ streamId: 'clip-144p', startS: null }]);
  });

  it('leaves a seek alone when the rung picked is playing, or under way, or Auto is on', () => {
    const { sw, opens } = switchOver(30);
    sw.seeked(5); // Auto
    sw.pick('clip', 10); // the rung playing
    sw.seeked(5);
    sw.pick('clip-144p', 10); // under way: restartAt's to move, not seeked's
    sw.seeked(5);
    expect(opens).toEqual([{ streamId: 'clip-144p', startS: 10 }]);
  });

  it('does not switch to a rung the viewer picks once the clip has ended', () => {
    const { sw, opens } = switchOver(3.02);
    sw.pick('clip-144p', 3.02);
    expect(opens).toEqual([]);
    sw.pick('clip-144p', 1);
    expect(opens).toEqual([{ streamId: 'clip-144p', startS: 1 }]);
  });

  it('switches when the duration is not known yet', () => {
    const { sw, opens } = switchOver(null);
    slowLink(sw);
    sw.step(ladder, 3, 0);
    expect(opens).toEqual([{ streamId: 'clip-144p', startS: 3 }]);
  });
});
