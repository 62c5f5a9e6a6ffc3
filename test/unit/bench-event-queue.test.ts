// The simulator's calendar queue hands out every event once, in (time, viewer) order, whatever order they were queued in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../bench/event-queue.js';

describe('EventQueue', () => {
  it('pops in (time, viewer) order, events queued while popping included', () => {
    fc.assert(
      fc.property(
        // Times span more than one lap of the ring (2^15 × 4 ms), so far events wait for a later lap.
        // Many at the same few milliseconds too: ties go by viewer.
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 300_000 })), fc.boolean()), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.integer({ min: 0, max: 5_000 }),
        (events, later) => {
          const q = new EventQueue();
          const want: [number, number][] = [];
          events.forEach(([t], v) => {
            q.reserve(v);
            q.push(t, v);
            want.push([t, v]);
          });
          const got: [number, number][] = [];
          let next = events.length;
          while (q.topTime() !== Infinity) {
            const t = q.topTime();
            const v = q.topViewer();
            got.push([t, v]);
            // Some events are followed by a new one for a new viewer, at or after now (as a viewer's next read is).
            if (events[v]?.[1]) {
              q.reserve(next);
              q.replaceTop(t + later, next);
              want.push([t + later, next++]);
            } else q.pop();
          }
          want.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});
