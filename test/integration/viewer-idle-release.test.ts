// A viewer that stays connected but wants no bytes — at the end of a stored asset, or paused for good — gives its
// server's session slot back (the server closes the session as `idle` and tells it), and a seek back or a resume
// asks for a new session and plays on byte for byte. Before, an ended session held its slot 120 s, and a paused
// player held it for as long as it stayed connected (its `stats` request every second counted as activity).
// Real hub and servers (one viewer slot each), real WebRTC viewers (the client SDK) in this process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Viewer } from '../../client-sdk/viewer.js';
import { SimplePeer, nodeWrtc } from '../../node-app/webrtc/peer.js';
import type { ClientToHubEvents, HubToClientEvents } from '../../signaling/protocol/events.js';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';

type ClientSocket = Socket<HubToClientEvents, ClientToHubEvents>;
/** The operator's idle bound on the server of the paused case (`--idle-timeout-ms`, through its variable). */
const PAUSED_IDLE_MS = 3_000;

/** A Viewer on its own hub connection that keeps every byte it gets by offset, and its warnings and errors. */
class TestViewer {
  readonly viewer: Viewer;
  readonly socket: ClientSocket;
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  readonly chunks: { offset: number; bytes: Uint8Array }[] = [];
  ends = 0;

  constructor(hubUrl: string, assetId: string, fast: boolean) {
    this.socket = io(`${hubUrl}/client`, { transports: ['websocket'], reconnection: false });
    this.viewer = new Viewer({ socket: this.socket, assetId, SimplePeer, wrtc: nodeWrtc, fast });
    this.viewer.addEventListener('data', (e) => this.chunks.push({ offset: e.detail.offset, bytes: e.detail.bytes.slice() }));
    this.viewer.addEventListener('warning', (e) => this.warnings.push(e.detail.code));
    this.viewer.addEventListener('error', (e) => this.errors.push(`${e.detail.code}: ${e.detail.message}`));
    this.viewer.addEventListener('end', () => this.ends++);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
    this.viewer.start();
    return this;
  }

  /** Every byte received from chunk `from` on matches `file` at its offset, and they cover [start, file end). */
  expectFileFrom(file: Uint8Array, from: number): void {
    let next = -1;
    for (const c of this.chunks.slice(from)) {
      if (next === -1) next = c.offset;
      expect(c.offset).toBe(next);
      expect(Buffer.from(c.bytes).equals(Buffer.from(file.subarray(c.offset, c.offset + c.bytes.byteLength)))).toBe(true);
      next += c.bytes.byteLength;
    }
    expect(next).toBe(file.byteLength);
  }

  close(): void {
    this.viewer.close();
    this.socket.disconnect();
  }
}

describe('a viewer idle at the end or paused gives its session slot back', { concurrent: true }, () => {
  const cluster = new Cluster({
    servers: [
      // The default bounds: 10 s after the end.
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-testsrc'], maxSessions: 1, extraArgs: ['--allow-fast'] },
      {
        id: 'ams-1',
        region: 'eu-west',
        lat: 52.37,
        lon: 4.9,
        assets: ['demo-mandelbrot'],
        maxSessions: 1,
        env: { BATON_IDLE_TIMEOUT_MS: String(PAUSED_IDLE_MS) },
      },
    ],
  });
  const viewers: TestViewer[] = [];
  const open = async (assetId: string, fast: boolean) => {
    const v = new TestViewer(cluster.hubUrl, assetId, fast);
    viewers.push(v);
    return v.start();
  };
  /** The server's open viewer sessions, from its own log of each slot taken and given back (the table lags a heartbeat). */
  const sessionsOn = (id: string) => {
    const out = cluster.servers.get(id)!.output();
    return out.split('"watch session opened"').length - out.split('"watch session ended"').length;
  };
  /** Its slot is free on the server, and the hub's table (what the director places by) says so too. */
  const slotFree = async (id: string) => sessionsOn(id) === 0 && (await cluster.state()).servers.find((s) => s.id === id)?.sessions === 0;

  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    for (const v of viewers) v.close();
    await cluster.stop();
  });

  /**
   * Another viewer gets `server`'s one slot: it plays, then leaves once the table has its session (that report ends
   * the director's reservation for it), and the table shows the slot free again.
   */
  async function slotIsFree(server: string, assetId: string): Promise<void> {
    const other = await open(assetId, false);
    await waitFor('the other viewer playing', () => other.chunks.length > 0 || other.errors.length > 0, 30_000);
    expect(other.errors).toEqual([]);
    await waitFor(
      `the other viewer's session in the table`,
      async () => (await cluster.state()).servers.find((s) => s.id === server)?.sessions === 1,
    );
    other.close();
    await waitFor(`the other viewer's session gone from ${server}`, () => slotFree(server), 30_000, 100);
  }

  it('at the end: the slot is free within the ended bound (10 s); a seek back gets a new session and plays to the end again', async () => {
    const file = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    const v = await open('demo-testsrc', true);
    await waitFor('the end', () => v.ends === 1 || v.errors.length > 0, 60_000);
    v.expectFileFrom(file, 0);
    await waitFor('the ended session closed on fra-1', () => slotFree('fra-1'), 30_000, 100);
    expect(v.errors).toEqual([]);
    expect(v.warnings).toContain('idle');
    expect(v.viewer.session).toBeNull();
    await slotIsFree('fra-1', 'demo-testsrc');
    const seekFrom = v.chunks.length;
    v.viewer.seekTime(0);
    await waitFor('the end again', () => v.ends === 2 || v.errors.length > 0, 60_000);
    expect(v.errors).toEqual([]);
    v.expectFileFrom(file, seekFrom);
  }, 180_000);

  it('paused for good: the slot is free within the idle bound; a resume gets a new session and plays on from its byte', async () => {
    const file = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm')));
    const v = await open('demo-mandelbrot', false);
    await waitFor('first bytes', () => v.chunks.length > 0 || v.errors.length > 0, 30_000);
    v.viewer.pause();
    // Its `stats` request each second keeps going meanwhile: no activity.
    await waitFor('the paused session closed on ams-1', () => slotFree('ams-1'), 30_000, 100);
    expect(v.errors).toEqual([]);
    expect(v.warnings).toContain('idle');
    await slotIsFree('ams-1', 'demo-mandelbrot');
    v.viewer.resume();
    await waitFor('the end', () => v.ends === 1 || v.errors.length > 0, 120_000);
    expect(v.errors).toEqual([]);
    v.expectFileFrom(file, 0);
  }, 180_000);
});
