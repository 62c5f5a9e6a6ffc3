// Ports for the peers the benchmark starts by hand: a fixed range (BATON_PEERS_PORT_BASE, default
// 25000, 1,000 ports), handed out in order and skipped when something on this machine holds one.
import { createServer } from 'node:net';
import type { PortRange } from './peer.js';

export const DEFAULT_PEERS_PORT_BASE = 25_000;
const RANGE_SIZE = 1_000;

/** True when `port` can be bound on every interface (Janus binds in its namespace, nginx on loopback). */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

/** A range whose `next()` returns ports that were free when handed out (UDP ones are checked by their users). */
export async function portRange(base = Number(process.env.BATON_PEERS_PORT_BASE ?? DEFAULT_PEERS_PORT_BASE)): Promise<PortRange> {
  const ports: number[] = [];
  for (let p = base; p < base + RANGE_SIZE && ports.length < 60; p += 2) if (await free(p)) ports.push(p);
  let i = 0;
  return {
    next: () => {
      const p = ports[i++];
      if (p === undefined) throw new Error(`no free port left in ${base}–${base + RANGE_SIZE - 1}`);
      return p;
    },
  };
}
