// A private network namespace with one veth pair, for peers that will not gather ICE candidates on
// loopback (Janus 1.1.2): the peer runs inside it, on an address that exists only on this machine.
import { execFileSync } from 'node:child_process';

/** Both ends of the pair, and the namespace's name. */
export interface Netns {
  name: string;
  /** The host's end (in the root namespace). */
  hostIface: string;
  hostAddress: string;
  /** The peer's end (inside the namespace). */
  nsIface: string;
  nsAddress: string;
  /** Removes the namespace and the pair; idempotent. */
  destroy(): void;
}

/** Thrown when the namespace cannot be made (not root, no `ip`). */
export class NetnsError extends Error {
  readonly code = 'NETNS_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetnsError';
  }
}

const created = new Set<() => void>();
let exitHook = false;

/** A namespace outlives its process: remove ours when the bench exits, however it exits. */
function destroyOnExit(destroy: () => void): void {
  created.add(destroy);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const d of created) d();
  });
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * Creates `baton-peers-<tag>` with a /30 in 10.213.0.0/16 (RFC 1918; one subnet per tag, so
 * concurrent runs do not collide). Interface names stay within Linux's 15 characters.
 */
export function createNetns(tag: number = process.pid): Netns {
  const n = tag % 16_000;
  const name = `baton-peers-${tag}`;
  const hostIface = `bpv${n}h`;
  const nsIface = `bpv${n}n`;
  const base = (n % 64) * 4; // one /30 per tag within 10.213.<hi>.<base>
  const hi = Math.floor(n / 64) % 250;
  const hostAddress = `10.213.${hi}.${base + 1}`;
  const nsAddress = `10.213.${hi}.${base + 2}`;
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    created.delete(destroy);
    // Deleting the namespace deletes its veth end, which deletes the pair.
    try {
      ip('netns', 'delete', name);
    } catch {
      // Already gone.
    }
    try {
      ip('link', 'delete', hostIface);
    } catch {
      // Went with the namespace.
    }
  };
  destroyOnExit(destroy);
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostIface, 'type', 'veth', 'peer', 'name', nsIface);
    ip('link', 'set', nsIface, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIface);
    ip('link', 'set', hostIface, 'up');
    ip('-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsIface);
    ip('-n', name, 'link', 'set', nsIface, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (err) {
    destroy();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new NetnsError(`cannot create network namespace ${name} (needs root and iproute2): ${stderr || (err as Error).message}`, {
      cause: err,
    });
  }
  return { name, hostIface, hostAddress, nsIface, nsAddress, destroy };
}
