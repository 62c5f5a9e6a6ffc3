// A broadcaster for the ingest fault rows: the Publisher in Node, fed a file at a fixed rate,
// able to hold before a given byte until the test says go (e.g. until a viewer has joined).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import type { ClientToHubEvents, HubToClientEvents } from '../../../signaling/protocol/events.js';
import type { PublishReply } from '../../../signaling/protocol/messages.js';
import { Publisher, PublishError, type PublishResult } from '../../../client-sdk/publisher.js';
import { SimplePeer, nodeWrtc } from '../../../node-app/webrtc/peer.js';
import { PROBE_HEAD_BYTES, mimeFor, probeWebm } from '../../../node-app/storage/webm-probe.js';

/** The rate is applied in pushes this far apart (MediaRecorder timeslices are 100–250 ms). */
const TICK_MS = 100;

export interface PacedPublishOptions {
  hubUrl: string;
  file: string;
  streamId: string;
  location?: string;
  streamKey?: string;
  bytesPerSecond: number;
  /** Bytes from `at` on (the `end`, when `at` is the file's length) are pushed only once `until` has settled. */
  holds?: { at: number; until: Promise<unknown> }[];
  /** Called with the Publisher before `start()`, so no event is missed. */
  onPublisher?: (p: Publisher) => void;
}

export interface PacedPublish {
  /** The hub's assignment (primary, backup), once the upload started. */
  assigned: Promise<PublishReply>;
  /** Stream bytes pushed so far. */
  pushed: () => number;
  /** Resolves with what the servers stored; rejects with a PublishError. */
  result: Promise<PublishResult>;
}

export function pacedPublish(o: PacedPublishOptions): PacedPublish {
  const bytes = readFileSync(o.file);
  let pushed = 0;
  let assign!: (r: PublishReply) => void;
  let refuse!: (e: unknown) => void;
  const assigned = new Promise<PublishReply>((resolve, reject) => {
    assign = resolve;
    refuse = reject;
  });
  assigned.catch(() => undefined);
  const result = (async () => {
    const socket: Socket<HubToClientEvents, ClientToHubEvents> = io(`${o.hubUrl}/client`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 10_000,
    });
    let p: Publisher | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (err) => reject(new PublishError('hub-unreachable', err.message)));
      });
      const publisher = new Publisher({
        socket,
        SimplePeer,
        wrtc: nodeWrtc,
        streamKey: o.streamKey ?? 'test-key',
        location: o.location ?? 'Lisbon',
        streamId: o.streamId,
        mime: mimeFor(probeWebm(bytes.subarray(0, PROBE_HEAD_BYTES))),
        hash: () => createHash('sha256'),
      });
      p = publisher;
      o.onPublisher?.(publisher);
      const fatal = new Promise<never>((_, reject) =>
        publisher.addEventListener('error', (e) => reject(new PublishError(e.detail.code, e.detail.message))),
      );
      fatal.catch(() => undefined);
      assign(await Promise.race([publisher.start(), fatal]));
      const perTick = Math.max(1, Math.round((o.bytesPerSecond * TICK_MS) / 1000));
      const holds = [...(o.holds ?? [])].sort((a, b) => a.at - b.at);
      while (pushed < bytes.length) {
        const hold = holds[0];
        if (hold && hold.at <= pushed) {
          holds.shift();
          await Promise.race([hold.until, fatal]);
          continue;
        }
        const end = Math.min(bytes.length, pushed + perTick, hold ? hold.at : Infinity);
        await Promise.race([publisher.write(bytes.subarray(pushed, end)), fatal]);
        pushed = end;
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
      // A hold at the stream's length holds the `end`: every byte sent, the stream not finished.
      for (const hold of holds) await Promise.race([hold.until, fatal]);
      return await Promise.race([publisher.end(), fatal]);
    } catch (err) {
      refuse(err);
      throw err;
    } finally {
      p?.close();
      socket.disconnect();
    }
  })();
  return { assigned, pushed: () => pushed, result };
}
