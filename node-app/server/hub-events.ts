// Which part of a media server answers each hub → server event, with the checks every event gets on the way in.
import { parse, sessionCloseSchema, signalSchema } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';
import type { DirectorRole } from '../director/director-role.js';
import type { IngestManager } from '../ingest/ingest-manager.js';
import type { IceFilter } from '../webrtc/ice-filter.js';
import type { WhepManager } from '../whep/whep-manager.js';
import type { WhipManager } from '../whip/whip-manager.js';
import type { HubLink } from './hub-link.js';
import { openSession } from './session-open.js';
import type { ViewerSessions } from './viewer-sessions.js';

export interface HubEventParts {
  /** A delta batch (or anything the hub sent as one) for the replica. */
  deltas: (batch: unknown) => void;
  /** The server is shutting down: nothing new is opened. */
  closed: () => boolean;
  director: Pick<DirectorRole, 'select' | 'selectIngest'>;
  viewers: ViewerSessions;
  ingest: IngestManager;
  whip: Pick<WhipManager, 'offer' | 'end' | 'adopt' | 'signal' | 'sessionClose'>;
  whep: Pick<WhepManager, 'offer' | 'end'>;
  iceFilter: IceFilter;
  log: Logger;
}

/** Routes each hub → server event to the part that answers it. */
export function routeHubEvents(hub: HubLink, p: HubEventParts): void {
  hub.handle('deltas', (batch) => p.deltas(batch));
  hub.handle('select', (req, ack) => p.director.select(req, ack));
  hub.handle('select-ingest', (req, ack) => p.director.selectIngest(req, ack));
  hub.handle('session-open', (msg, ack) =>
    openSession(msg, ack, { closed: p.closed(), ingest: p.ingest, viewers: p.viewers, iceFilter: p.iceFilter }),
  );
  hub.handle('signal', (msg) => {
    const s = parse(signalSchema, msg);
    if (!s.ok) return;
    // Rebuilt from an allow-list: remote candidates this server must not probe, and fields the WebRTC stack would act on
    // unchecked, never reach it.
    const data = p.iceFilter.filterSignal(s.value.data);
    if (data === null) return;
    const session = p.viewers.get(s.value.sessionId);
    if (session) session.signal(data);
    else p.ingest.signal(s.value.sessionId, data);
  });
  // A WHIP or WHEP offer carries the client's candidates in its SDP (no trickle): its disallowed lines are taken out.
  // The rest of the message is the hub's, and its schema (strict) refuses any field it does not name.
  const sdpFiltered = (msg: unknown): unknown =>
    msg && typeof msg === 'object' && typeof (msg as { sdp?: unknown }).sdp === 'string'
      ? { ...msg, sdp: p.iceFilter.filterSdp((msg as { sdp: string }).sdp) }
      : msg;
  hub.handle('whip-offer', (msg, ack) => p.whip.offer(sdpFiltered(msg), ack));
  hub.handle('whip-end', (msg, ack) => p.whip.end(msg, ack));
  hub.handle('whip-adopt', (msg, ack) => p.whip.adopt(msg, ack));
  hub.handle('whip-signal', (msg) => p.whip.signal(msg));
  hub.handle('whip-session-close', (msg) => p.whip.sessionClose(msg));
  hub.handle('whep-offer', (msg, ack) => p.whep.offer(sdpFiltered(msg), ack));
  hub.handle('whep-end', (msg, ack) => p.whep.end(msg, ack));
  hub.handle('session-close', (msg) => {
    const c = parse(sessionCloseSchema, msg);
    if (!c.ok) return void p.log.warn({ err: c.message }, 'invalid session-close from the hub');
    if (!p.viewers.closeByHub(c.value.sessionId)) p.ingest.closeSession(c.value.sessionId);
  });
}
