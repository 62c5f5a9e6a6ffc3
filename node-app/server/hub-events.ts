// Which part of a media server answers each hub → server event, with the checks every event gets on the way in.
import { ErrorCode, ackError, parse, sessionCloseSchema, signalSchema } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';
import type { DirectorRole } from '../director/director-role.js';
import type { IngestManager } from '../ingest/ingest-manager.js';
import type { IceFilter } from '../webrtc/ice-filter.js';
import type { WhepManager } from '../whep/whep-manager.js';
import type { WhipManager } from '../whip/whip-manager.js';
import { TimeSlicer } from '../../common/time-slices.js';
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
  whip: Pick<WhipManager, 'offer' | 'end' | 'signal' | 'sessionClose'>;
  whep: Pick<WhepManager, 'offer' | 'end'>;
  iceFilter: IceFilter;
  log: Logger;
}

const busy = (ack: unknown) => () => {
  if (typeof ack === 'function') ack(ackError(ErrorCode.noCapacity, 'server busy: too many hub events waiting'));
};

/**
 * Routes each hub → server event to the part that answers it. The events that make or end sessions (a WebRTC peer
 * each, milliseconds of CPU) go through one time-sliced queue, in the order they came: a burst of them leaves the
 * event loop a turn every few ms, so the heartbeat goes out on time. Table deltas and director asks are cheap and
 * answered at once.
 */
export function routeHubEvents(hub: HubLink, p: HubEventParts): void {
  const sessions = new TimeSlicer({
    turn: (run) => setImmediate(run),
    onError: (err) => p.log.error({ err }, 'a hub event handler failed'),
  });
  hub.handle('deltas', (batch) => p.deltas(batch));
  hub.handle('select', (req, ack) => p.director.select(req, ack));
  hub.handle('select-ingest', (req, ack) => p.director.selectIngest(req, ack));
  hub.handle('session-open', (msg, ack) =>
    sessions.push({
      run: () => openSession(msg, ack, { closed: p.closed(), ingest: p.ingest, viewers: p.viewers, iceFilter: p.iceFilter }),
      refused: busy(ack),
    }),
  );
  hub.handle('signal', (msg) => sessions.push({ run: () => signal(msg) }));
  const signal = (msg: unknown) => {
    const s = parse(signalSchema, msg);
    if (!s.ok) return;
    // Remote candidates this server must not probe never reach the WebRTC stack.
    const data = p.iceFilter.filterSignal(s.value.data);
    if (data === null) return;
    const session = p.viewers.get(s.value.sessionId);
    if (session) session.signal(data);
    else p.ingest.signal(s.value.sessionId, data);
  };
  // A WHIP or WHEP offer carries the client's candidates in its SDP: the same filter as for relayed signals (its other
  // fields kept).
  hub.handle('whip-offer', (msg, ack) =>
    sessions.push({ run: () => p.whip.offer(p.iceFilter.filterSignal(msg), ack), refused: busy(ack) }),
  );
  hub.handle('whip-end', (msg, ack) => sessions.push({ run: () => p.whip.end(msg, ack), refused: busy(ack) }));
  hub.handle('whip-signal', (msg) => sessions.push({ run: () => p.whip.signal(msg) }));
  hub.handle('whip-session-close', (msg) => sessions.push({ run: () => p.whip.sessionClose(msg) }));
  hub.handle('whep-offer', (msg, ack) =>
    sessions.push({ run: () => p.whep.offer(p.iceFilter.filterSignal(msg), ack), refused: busy(ack) }),
  );
  hub.handle('whep-end', (msg, ack) => sessions.push({ run: () => p.whep.end(msg, ack), refused: busy(ack) }));
  hub.handle('session-close', (msg) => sessions.push({ run: () => closeSession(msg) }));
  const closeSession = (msg: unknown) => {
    const c = parse(sessionCloseSchema, msg);
    if (!c.ok) return void p.log.warn({ err: c.message }, 'invalid session-close from the hub');
    if (!p.viewers.closeByHub(c.value.sessionId)) p.ingest.closeSession(c.value.sessionId);
  };
}
