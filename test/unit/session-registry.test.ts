// The hub's session registry: per-connection and per-IP caps on unconnected and open viewer sessions.
import { describe, expect, it } from 'vitest';
import { type Admission, SessionRegistry } from '../../signaling/core/session-registry.js';

interface S {
  id: string;
  admission?: Admission;
}

const LIMITS = { unconnectedPerConn: 2, unconnectedPerIp: 3, sessionsPerConn: 4, sessionsPerIp: 5 };

/** Admits and registers one session; returns its id, or the refusal's code. */
function open(r: SessionRegistry<S>, conn: string, ip: string | null, id: string): string {
  const a = r.admit(conn, ip);
  if (!a.ok) return a.code;
  r.set(id, { id });
  r.attach(id, a);
  return id;
}

describe('SessionRegistry', () => {
  it('refuses a connection its third unconnected session, and counts nothing for the refusal', () => {
    const r = new SessionRegistry<S>(LIMITS);
    expect(open(r, 'c1', '198.51.100.7', 'a')).toBe('a');
    expect(open(r, 'c1', '198.51.100.7', 'b')).toBe('b');
    expect(open(r, 'c1', '198.51.100.7', 'c')).toBe('too-many-sessions');
    expect(r.tally('conn', 'c1')).toEqual({ open: 2, unconnected: 2 });
    expect(r.tally('ip', '198.51.100.7')).toEqual({ open: 2, unconnected: 2 });
    // Connecting one frees an unconnected place; the session still counts as open.
    r.get('a')!.admission!.connect();
    expect(open(r, 'c1', '198.51.100.7', 'c')).toBe('c');
    expect(r.tally('conn', 'c1')).toEqual({ open: 3, unconnected: 2 });
  });

  it('caps open sessions per connection, connected or not', () => {
    const r = new SessionRegistry<S>(LIMITS);
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(open(r, 'c1', null, id)).toBe(id);
      r.get(id)!.admission!.connect();
    }
    expect(open(r, 'c1', null, 'e')).toBe('too-many-sessions');
    r.delete('a');
    expect(open(r, 'c1', null, 'e')).toBe('e');
  });

  it('caps an IP across its connections, but never loopback', () => {
    const r = new SessionRegistry<S>(LIMITS);
    expect(open(r, 'c1', '203.0.113.9', 'a')).toBe('a');
    expect(open(r, 'c2', '203.0.113.9', 'b')).toBe('b');
    expect(open(r, 'c3', '203.0.113.9', 'c')).toBe('c');
    expect(open(r, 'c4', '203.0.113.9', 'd')).toBe('too-many-sessions');
    // Another address is not affected.
    expect(open(r, 'c4', '203.0.113.10', 'd')).toBe('d');
    // Loopback: only the per-connection caps apply.
    for (let i = 0; i < 10; i++) expect(open(r, `l${i}`, '127.0.0.1', `l${i}`)).toBe(`l${i}`);
    expect(open(r, 'l0', '127.0.0.1', 'x')).toBe('x');
    expect(open(r, 'l0', '127.0.0.1', 'y')).toBe('too-many-sessions');
  });

  it('counts an IPv6 client by its /64: a new address of the same network is the same client', () => {
    const r = new SessionRegistry<S>(LIMITS);
    // A host picks any address of its /64: three sessions from three of them fill the /64's unconnected cap.
    expect(open(r, 'c1', '2001:db8:1:2::1', 'a')).toBe('a');
    expect(open(r, 'c2', '2001:db8:1:2::2', 'b')).toBe('b');
    expect(open(r, 'c3', '2001:db8:1:2:abcd::9', 'c')).toBe('c');
    expect(open(r, 'c4', '2001:db8:1:2:ffff::1', 'd')).toBe('too-many-sessions');
    expect(r.tally('ip', '2001:db8:1:2::77')).toEqual({ open: 3, unconnected: 3 });
    // Another /64 is another client; IPv6 loopback is not capped.
    expect(open(r, 'c4', '2001:db8:1:3::1', 'd')).toBe('d');
    for (let i = 0; i < 6; i++) expect(open(r, `l${i}`, '::1', `l${i}`)).toBe(`l${i}`);
  });

  it('deleting a session releases its counts once, and empty tallies are dropped', () => {
    const r = new SessionRegistry<S>(LIMITS);
    open(r, 'c1', '198.51.100.7', 'a');
    open(r, 'c1', '198.51.100.7', 'b');
    r.get('b')!.admission!.connect();
    expect(r.trackedKeys).toBe(2);
    r.delete('a');
    r.delete('a');
    expect(r.tally('conn', 'c1')).toEqual({ open: 1, unconnected: 0 });
    r.delete('b');
    expect(r.trackedKeys).toBe(0);
    expect(r.size).toBe(0);
  });

  it('an admission never attached is released by its holder and leaves nothing behind', () => {
    const r = new SessionRegistry<S>(LIMITS);
    const a = r.admit('c1', '198.51.100.7');
    if (!a.ok) throw new Error('refused');
    expect(r.attach('gone', a)).toBe(false);
    a.release();
    a.release();
    expect(r.trackedKeys).toBe(0);
  });
});
