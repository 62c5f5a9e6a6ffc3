// What one hub writes into another's inbox (`HubMesh`): the message kinds, and what names a session's route.

/** One message between hubs. */
export type Envelope =
  | { k: 'send'; from: string; server: string; event: string; msg: unknown }
  | { k: 'ask'; from: string; id: number; server: string; event: string; msg: unknown; timeoutMs: number }
  /** `select` to the director `server`, then `session-open` (`open`) to the chosen server when this hub holds it too. */
  | { k: 'place'; from: string; id: number; server: string; msg: unknown; timeoutMs: number; open: unknown; openTimeoutMs: number }
  | { k: 'reply'; id: number; ok: boolean; value?: unknown; error?: string; code?: string }
  | { k: 'session'; server: string; event: string; msg: unknown }
  | { k: 'disconnect'; server: string }
  | { k: 'holds'; from: string; id: number; server: string }
  | { k: 'rotate'; epoch: number; reason: string }
  /** A WHIP/WHEP resource request (DELETE, …) for a resource this hub minted, relayed by the hub a client reached. */
  | { k: 'resource'; from: string; id: number; route: 'whip' | 'whep'; req: unknown };

export { routeKey } from '../protocol/ids.js';

/** Why an ask went nowhere: the server does not beat through the hub that was asked (it moved). */
export const NOT_HERE = 'not-here';
