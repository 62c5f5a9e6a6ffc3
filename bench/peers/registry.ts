// Every peer the benchmark knows, in the order samples interleave. To add one (e.g. `baton_whep`): a
// PeerFactory in its own file, its name in PEER_NAMES (peer.ts), and one line here.
import { batonLowLatencyPeer, batonPeer, httpPeer } from './baton.js';
import { batonWhepPeer } from './baton-whep.js';
import { batonWhipPeer } from './baton-whip.js';
import { hlsPeer } from './hls.js';
import { janusPeer } from './janus.js';
import type { PeerFactory } from './peer.js';

export const PEER_FACTORIES: readonly PeerFactory[] = Object.freeze([
  batonPeer,
  batonWhepPeer,
  batonLowLatencyPeer,
  batonWhipPeer,
  janusPeer,
  hlsPeer,
  httpPeer,
]);
