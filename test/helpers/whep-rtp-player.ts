// A WHEP player that asks for lost packets: a libdatachannel peer receiving VP8 + Opus through a LossyUdpRelay, which
// writes its own RTCP (generic NACKs, PLIs) as a browser's RTP stack does.
import { Audio, PeerConnection, Video, type Track } from 'node-datachannel';
import type { Ack } from '../../signaling/protocol/index.js';
import { LossyUdpRelay } from './lossy-udp-relay.js';

/** The player's own video SSRC (the RTCP packet sender). */
export const PLAYER_SSRC = 0x1111;

export interface RtpPlayer {
  relay: LossyUdpRelay;
  /** The server's video SSRC, from its answer. */
  videoSsrc: number;
  /** Video RTP packets the player decrypted, by sequence number, each time one arrived. */
  received: Map<number, Buffer[]>;
  /** Sends a generic NACK (RFC 4585 §6.2.1) for these sequence numbers of the server's video. */
  nack(seqs: number[]): void;
  /** Sends a PLI for the server's video. */
  pli(): void;
  close(): void;
}

/** FCI entries for `seqs`: each a PID and a bitmask of the 16 sequence numbers after it. */
export function genericNack(senderSsrc: number, mediaSsrc: number, seqs: number[]): Buffer {
  const fci: [number, number][] = [];
  for (const seq of seqs) {
    const last = fci.at(-1);
    const off = last ? (seq - last[0] + 0x10000) & 0xffff : 0;
    if (last && off >= 1 && off <= 16) last[1] |= 1 << (off - 1);
    else fci.push([seq, 0]);
  }
  const b = Buffer.alloc(12 + 4 * fci.length);
  b[0] = 0x80 | 1;
  b[1] = 205;
  b.writeUInt16BE(2 + fci.length, 2);
  b.writeUInt32BE(senderSsrc, 4);
  b.writeUInt32BE(mediaSsrc, 8);
  fci.forEach(([pid, blp], i) => {
    b.writeUInt16BE(pid, 12 + 4 * i);
    b.writeUInt16BE(blp, 14 + 4 * i);
  });
  return b;
}

/**
 * Offers to `answer` (a WHEP endpoint: a WhepManager's offer, or a POST) with no ICE candidate of its own, so the
 * server learns the player's address only through the relay it is given in the answer.
 */
export async function openRtpPlayer(answer: (offer: string) => Promise<Ack<{ sdp: string }>>): Promise<RtpPlayer> {
  const pc = new PeerConnection('nack-player', { iceServers: [], bindAddress: '127.0.0.1' });
  const v = new Video('0', 'RecvOnly');
  v.addVP8Codec(96);
  v.addSSRC(PLAYER_SSRC, 'player', 'player', 'video');
  const video: Track = pc.addTrack(v);
  const a = new Audio('1', 'RecvOnly');
  a.addOpusCodec(111);
  pc.addTrack(a);
  const received = new Map<number, Buffer[]>();
  video.onMessage((m) => {
    if (m.length < 12 || (m[1]! >= 192 && m[1]! <= 223)) return; // RTCP
    const seq = m.readUInt16BE(2);
    received.set(seq, [...(received.get(seq) ?? []), Buffer.from(m)]);
  });
  pc.setLocalDescription();
  await new Promise<void>((resolve) => {
    if (pc.gatheringState() === 'complete') return resolve();
    pc.onGatheringStateChange((s) => s === 'complete' && resolve());
  });
  const offer = pc
    .localDescription()!
    .sdp.split('\r\n')
    .filter((l) => !l.startsWith('a=candidate'))
    .join('\r\n');
  const r = await answer(offer);
  if (!r.ok) {
    pc.close();
    throw new Error(`the offer was refused: ${r.code} ${r.message}`);
  }
  const videoSsrc = Number(/^a=ssrc:(\d+) /m.exec(r.sdp.slice(r.sdp.indexOf('m=video')))?.[1]);
  const moved = LossyUdpRelay.throughRelay(r.sdp);
  const relay = await LossyUdpRelay.open(moved.serverPort);
  pc.setRemoteDescription(moved.rewrite(relay.port), 'answer' as never);
  return {
    relay,
    videoSsrc,
    received,
    nack: (seqs) => void video.sendMessageBinary(genericNack(PLAYER_SSRC, videoSsrc, seqs)),
    pli: () => {
      const b = Buffer.alloc(12);
      b[0] = 0x80 | 1;
      b[1] = 206;
      b.writeUInt16BE(2, 2);
      b.writeUInt32BE(PLAYER_SSRC, 4);
      b.writeUInt32BE(videoSsrc, 8);
      video.sendMessageBinary(b);
    },
    close: () => {
      pc.close();
      relay.close();
    },
  };
}
