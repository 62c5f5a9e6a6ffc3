// Drives one upload over its data channel: the peer's events, the server's frames (ready, ack, nack, done, error),
// the pump that sends frames from the resend buffer, and what the hub says about its session. Apart from the Publisher, which decides how many uploads
// there are, when to replace one and when the stream ends; this file only speaks the ingest protocol to one server.
import { decodeIngestServerFrame, type IngestClientControl, type IngestServerControl } from '../signaling/protocol/ingest-frames.js';
import { parse } from '../signaling/protocol/messages.js';
import { sessionCloseSchema, signalSchema } from './hub-replies.js';
import { HUB_CLOSE_GRACE_MS, SERVER_CLOSE_WAIT_MS, UPLOAD_CONNECT_TIMEOUT_MS, type UploadState } from './publisher-types.js';
import type { ResendBuffer } from './resend-buffer.js';
import { sendControl, writeFrame, type Upload } from './upload.js';

/** What an upload needs from its Publisher: the shared stream state, and where to report what happened. */
export interface UploadHost {
  readonly buffer: ResendBuffer;
  /** close() ran: nothing more is sent. */
  readonly closed: boolean;
  /** end() was called: an upload that has caught up sends `end`. */
  readonly ending: boolean;
  /** The stream's sha256 once end() was called (when hashing), checked against each server's `done`. */
  readonly sha256: string | undefined;
  readonly streamId: string;
  readonly mime: string;
  /** Reads stream bytes the resend buffer dropped again (a file), if the stream allows it. */
  readonly reread?: ((offset: number, length: number) => Promise<Uint8Array>) | undefined;
  /** Relays a signal for `sessionId` to the hub. */
  signal(sessionId: string, data: unknown): void;
  /** The one failure path of an upload. */
  fail(u: Upload, code: string, message: string): void;
  /** The hub dropped the upload's server from its table; the server may only be stalled. */
  hubGone(u: Upload, message: string): void;
  warn(code: string, message: string): void;
  /** The upload's state changed. */
  health(u: Upload): void;
  /** `bytes` went on the wire. */
  sent(bytes: number): void;
  /** The server acknowledged more chunks. */
  acked(): void;
  /** The server finalized the stream (`done`). */
  stored(u: Upload): void;
  /** The upload sent `end`: the server owes only its confirmation now. */
  ended(u: Upload): void;
}

/** Wires a new upload's peer to its host and starts its connect timer. */
export function driveUpload(host: UploadHost, u: Upload): void {
  const peer = u.peer;
  const mine = () => !host.closed && u.state !== 'failed';
  peer.on('signal', (data) => {
    if (mine()) host.signal(u.sessionId, data);
  });
  peer.on('connect', () => {
    if (!mine()) return;
    // The oldest chunk we can still send: a copy that needs older ones refuses (cannot-resume). A continued stream's
    // first servers hold its copy, from whose end it goes on (a finished copy is reopened for a `resumeFrom` past 0); a
    // replacement starts a new copy, from chunk 0 when the continued copy can be read again (`reread`).
    const { resendFrom, startSeq } = host.buffer;
    const resumeFrom = u.replacement ? resendFrom : Math.max(resendFrom, startSeq);
    const hello: IngestClientControl = { t: 'hello', streamId: host.streamId, mime: host.mime, resumeFrom };
    sendControl(u, (code, message) => host.fail(u, code, message), hello);
  });
  peer.on('data', (data) => {
    if (!mine()) return;
    u.heardAt = Date.now();
    onServerFrame(host, u, data);
  });
  peer.on('close', () => {
    if (mine() && u.state !== 'done') host.fail(u, 'peer-closed', 'the connection to the server closed');
  });
  peer.on('error', (err) => {
    if (mine() && u.state !== 'done') host.fail(u, 'peer-error', err.message);
  });
  u.connectTimer = setTimeout(() => {
    if (mine() && u.state === 'connecting') host.fail(u, 'connect-timeout', 'the server did not get ready in time');
  }, UPLOAD_CONNECT_TIMEOUT_MS);
  host.health(u);
}

function onServerFrame(host: UploadHost, u: Upload, data: unknown): void {
  const r = decodeIngestServerFrame(data);
  if (!r.ok) return host.warn(r.code, `${u.serverId}: ${r.message}`);
  const msg: IngestServerControl = r.frame.msg;
  switch (msg.t) {
    case 'ready': {
      if (u.state !== 'connecting') return;
      clearTimeout(u.connectTimer);
      const { resendFrom, nextSeq } = host.buffer;
      if (msg.nextSeq < resendFrom || msg.nextSeq > nextSeq) {
        return host.fail(
          u,
          'cannot-resume',
          `${u.serverId} needs chunk ${msg.nextSeq}; the resend buffer holds ${resendFrom}..${nextSeq - 1}`,
        );
      }
      const expected = host.buffer.offsetOf(msg.nextSeq);
      if (msg.bytes !== expected)
        return host.fail(u, 'mismatch', `${u.serverId} holds ${msg.bytes} bytes at chunk ${msg.nextSeq}; expected ${expected}`);
      u.next = msg.nextSeq;
      u.limits = msg.limits;
      u.state = 'streaming';
      host.health(u);
      void pumpUpload(host, u);
      return;
    }
    case 'ack':
      if (msg.seq > u.ackedSeq) {
        u.ackedSeq = msg.seq;
        u.ackedBytes = msg.bytes;
        host.acked();
      }
      return;
    case 'nack':
      // Rewind: the pump continues from there (idempotent on the server).
      if (msg.expected < u.next) u.next = msg.expected;
      return void pumpUpload(host, u);
    case 'done':
      if (host.sha256 && msg.sha256 !== host.sha256)
        return host.fail(u, 'mismatch', `${u.serverId} stored sha256 ${msg.sha256}, the stream's is ${host.sha256}`);
      u.state = 'done';
      u.sha256 = msg.sha256;
      u.ackedBytes = msg.bytes;
      host.health(u);
      return host.stored(u);
    case 'error':
      if (msg.fatal) return host.fail(u, msg.code, `${u.serverId}: ${msg.message}`);
      return host.warn(msg.code, `${u.serverId}: ${msg.message}`);
  }
}

/** Sends this upload everything from `u.next` on, one write at a time (the channel's backpressure). */
export async function pumpUpload(host: UploadHost, u: Upload): Promise<void> {
  if (u.pumping) return;
  u.pumping = true;
  try {
    while ((u.state === 'streaming' || u.state === 'ending') && !host.closed) {
      if (u.next >= host.buffer.nextSeq) {
        if (host.ending && !u.endSent) {
          u.endSent = true;
          u.state = 'ending';
          host.health(u);
          const bytes = host.buffer.bytes;
          const end: IngestClientControl = host.sha256 ? { t: 'end', bytes, sha256: host.sha256 } : { t: 'end', bytes };
          sendControl(u, (code, message) => host.fail(u, code, message), end);
          if (u.state === 'ending') host.ended(u);
        }
        return;
      }
      const f =
        host.buffer.frame(u.next) ?? (host.reread ? await host.buffer.frameAt(u.next, host.reread).catch(() => undefined) : undefined);
      if ((u.state as UploadState) === 'failed' || host.closed) return;
      if (!f) return host.fail(u, 'cannot-resume', `chunk ${u.next} is no longer in the resend buffer`);
      await writeFrame(u, f.encoded, (code, message) => host.fail(u, code, message));
      if ((u.state as UploadState) === 'failed' || host.closed) return;
      u.next = Math.max(u.next, f.seq + 1);
      u.sentBytes += f.encoded.byteLength;
      host.sent(f.encoded.byteLength);
    }
  } finally {
    u.pumping = false;
  }
}

/** A signal the hub relayed for one of the uploads (found by `find`): hand it to that upload's peer. */
export function onHubSignal(host: UploadHost, find: (sessionId: string) => Upload | undefined, msg: unknown): void {
  const p = parse(signalSchema, msg);
  const u = p.ok ? find(p.value.sessionId) : undefined;
  if (!p.ok || !u || u.state === 'failed') return;
  try {
    u.peer.signal(p.value.data);
  } catch (err) {
    host.fail(u, 'bad-signal', (err as Error).message);
  }
}

/**
 * The hub closed one of the uploads' sessions: unless it is done or failed by then, the upload fails
 * SERVER_CLOSE_WAIT_MS later, or, when the hub only lost sight of the server (`server-gone`), goes on under the
 * Publisher's watch HUB_CLOSE_GRACE_MS later.
 */
export function onHubSessionClose(host: UploadHost, find: (sessionId: string) => Upload | undefined, msg: unknown): void {
  const p = parse(sessionCloseSchema, msg);
  const u = p.ok ? find(p.value.sessionId) : undefined;
  if (!p.ok || !u || u.state === 'done') return;
  const reason = p.value.reason;
  const message = `the hub closed the session to ${u.serverId} (${reason})`;
  const t =
    reason === 'server-gone'
      ? setTimeout(() => host.hubGone(u, message), HUB_CLOSE_GRACE_MS)
      : setTimeout(() => host.fail(u, 'session-closed', message), SERVER_CLOSE_WAIT_MS);
  (t as { unref?: () => void }).unref?.();
}
