// The media server's remote-candidate filter: hostnames and restricted ranges are dropped unless allowed.
import { describe, expect, it } from 'vitest';
import { IceFilter, parseIceAllow } from '../../node-app/webrtc/ice-filter.js';

const line = (addr: string) => `candidate:1 1 UDP 2130706431 ${addr} 5000 typ host`;

describe('IceFilter', () => {
  it('drops loopback, private, link-local, ULA and hostname targets by default; keeps public ones and browser mDNS names', () => {
    const f = new IceFilter();
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.9',
      '192.168.1.1',
      '169.254.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      'fd00::2',
      'fe80::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(f.check(line(a)), a).toBe('restricted');
    }
    for (const a of ['localhost', 'evil.example.com', 'metadata.google.internal', 'printer.local'])
      expect(f.check(line(a)), a).toBe('hostname');
    for (const a of ['8.8.8.8', '192.0.2.2', '2001:db8::1', '3a1b2c3d-1111-2222-3333-444455556666.local'])
      expect(f.check(line(a)), a).toBeUndefined();
    expect(f.check('candidate:1 1 UDP')).toBe('malformed');
  });

  it('--ice-allow opens exactly the listed ranges', () => {
    const f = new IceFilter(parseIceAllow('loopback, 10.1.0.0/16'));
    expect(f.check(line('127.0.0.5'))).toBeUndefined();
    expect(f.check(line('::1'))).toBeUndefined();
    expect(f.check(line('10.1.200.3'))).toBeUndefined();
    expect(f.check(line('10.2.0.1'))).toBe('restricted');
    expect(f.check(line('localhost'))).toBe('hostname');
    expect(() => parseIceAllow('10.0.0.0/33')).toThrow(/not a CIDR/);
    expect(() => parseIceAllow('example.com')).toThrow(/not a CIDR/);
  });

  it('filters lone candidate signals and a=candidate lines inside an SDP, counting each drop', () => {
    const drops: string[] = [];
    const f = new IceFilter([], (reason, address) => drops.push(`${reason}:${address}`));
    expect(f.filterSignal({ type: 'candidate', candidate: { candidate: line('10.0.0.1'), sdpMid: '0' } })).toBeNull();
    const ok = { type: 'candidate', candidate: { candidate: line('8.8.8.8'), sdpMid: '0' } };
    expect(f.filterSignal(ok)).toEqual(ok);
    const sdp = ['v=0', `a=${line('192.168.0.2')}`, `a=${line('8.8.4.4')}`, 'a=end-of-candidates'].join('\r\n');
    const out = f.filterSignal({ type: 'offer', sdp }) as { sdp: string };
    expect(out.sdp).not.toContain('192.168.0.2');
    expect(out.sdp).toContain('8.8.4.4');
    expect(drops).toEqual(['restricted:10.0.0.1', 'restricted:192.168.0.2']);
  });

  it('filters an SDP whose lines end in a bare LF too (the WebRTC stack accepts it), keeping its line endings', () => {
    const drops: string[] = [];
    const f = new IceFilter([], (reason, address) => drops.push(`${reason}:${address}`));
    const sdp = ['v=0', `a=${line('127.0.0.1')}`, `a=${line('10.1.2.3')}`, `a=${line('8.8.4.4')}`, ''].join('\n');
    const out = f.filterSignal({ type: 'offer', sdp }) as { sdp: string };
    expect(out.sdp).toBe(['v=0', `a=${line('8.8.4.4')}`, ''].join('\n'));
    expect(drops).toEqual(['restricted:127.0.0.1', 'restricted:10.1.2.3']);
  });

  describe('a client signal is rebuilt from an allow-list, whatever its shape', () => {
    const bad = { candidate: line('127.0.0.1'), sdpMid: '0', sdpMLineIndex: 0 };
    const good = { candidate: line('8.8.8.8'), sdpMid: '0', sdpMLineIndex: 0 };
    const offerSdp = ['v=0', `a=${line('10.9.9.9')}`, `a=${line('8.8.4.4')}`, ''].join('\r\n');

    it('a candidate is filtered whatever its type: untyped, typed otherwise, or riding on an offer', () => {
      const drops: string[] = [];
      const f = new IceFilter([], (reason, address) => drops.push(`${reason}:${address}`));
      for (const shape of [
        { candidate: bad },
        { type: 'offer', candidate: bad },
        { type: 'answer', candidate: bad },
        { type: 'renegotiate', candidate: bad },
        { type: 'offer', sdp: 'v=0\r\n', candidate: bad },
        { type: 'candidate', candidate: bad, sdp: offerSdp },
      ])
        expect(f.filterSignal(shape), JSON.stringify(shape)).toBeNull();
      expect(drops).toEqual(Array(6).fill('restricted:127.0.0.1'));
      // An allowed candidate goes on as a candidate only: the offer it rode on is not passed.
      expect(f.filterSignal({ type: 'offer', sdp: offerSdp, candidate: good })).toEqual({ type: 'candidate', candidate: good });
      expect(f.filterSignal({ candidate: good })).toEqual({ type: 'candidate', candidate: good });
    });

    it('a candidate that is not a {candidate: string} object is dropped; extra and mistyped fields are not passed', () => {
      const f = new IceFilter();
      for (const c of [line('8.8.8.8'), null, 1, [], {}, { candidate: 5 }, { candidate: { candidate: line('8.8.8.8') } }])
        expect(f.filterSignal({ type: 'candidate', candidate: c }), JSON.stringify(c)).toBeNull();
      expect(
        f.filterSignal({
          type: 'candidate',
          candidate: {
            candidate: line('8.8.8.8'),
            sdpMid: 0,
            sdpMLineIndex: '0',
            usernameFragment: 'u1',
            relayed: { candidate: line('127.0.0.1') },
          },
          renegotiate: true,
          transceiverRequest: { kind: 'video' },
        }),
      ).toEqual({ type: 'candidate', candidate: { candidate: line('8.8.8.8'), usernameFragment: 'u1' } });
      // The end of candidates (an empty line) is kept.
      expect(f.filterSignal({ type: 'candidate', candidate: { candidate: '', sdpMid: '0' } })).toEqual({
        type: 'candidate',
        candidate: { candidate: '', sdpMid: '0' },
      });
    });

    it('an offer or answer is passed as {type, sdp} only, its SDP filtered; anything else is dropped', () => {
      const f = new IceFilter();
      const want = { type: 'offer', sdp: ['v=0', `a=${line('8.8.4.4')}`, ''].join('\r\n') };
      expect(f.filterSignal({ type: 'offer', sdp: offerSdp, renegotiate: true, transceiverRequest: { kind: 'audio' }, x: 1 })).toEqual(
        want,
      );
      expect(f.filterSignal({ type: 'answer', sdp: 'v=0\r\n', nested: { candidate: bad } })).toEqual({ type: 'answer', sdp: 'v=0\r\n' });
      for (const shape of [
        { sdp: offerSdp },
        { type: 'pranswer', sdp: offerSdp },
        { type: 'offer', sdp: 5 },
        { type: 'offer' },
        { renegotiate: true },
        { transceiverRequest: { kind: 'video', init: {} } },
        {},
        [],
        'v=0',
        null,
      ])
        expect(f.filterSignal(shape), JSON.stringify(shape)).toBeNull();
    });

    it('filterSdp takes out the disallowed lines of a bare SDP (WHIP and WHEP offers)', () => {
      const f = new IceFilter();
      expect(f.filterSdp(offerSdp)).toBe(['v=0', `a=${line('8.8.4.4')}`, ''].join('\r\n'));
      expect(f.filterSdp('v=0\r\n')).toBe('v=0\r\n');
    });
  });
});
