// A lossy path between a WebRTC player and a media server on loopback: a UDP relay that forwards both ways and drops
// the server's SRTP packets a test picks (their RTP header is in the clear), keeping every datagram it saw.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** An SRTP datagram from the server, as it crossed the relay. */
export interface SeenDatagram {
  ssrc: number;
  seq: number;
  bytes: Buffer;
  dropped: boolean;
}

export class LossyUdpRelay {
  /** Every RTP (not RTCP, not STUN/DTLS) datagram the server sent through the relay, in order. */
  readonly fromServer: SeenDatagram[] = [];
  /** Decides, per server RTP datagram, whether the player loses it. */
  drop: (d: { ssrc: number; seq: number }) => boolean = () => false;
  readonly #player: Socket;
  readonly #server: Socket;
  #playerAddr: RemoteInfo | undefined;

  private constructor(
    player: Socket,
    server: Socket,
    readonly serverPort: number,
  ) {
    this.#player = player;
    this.#server = server;
    player.on('message', (msg, from) => {
      this.#playerAddr = from;
      server.send(msg, serverPort, '127.0.0.1');
    });
    server.on('message', (msg) => {
      const to = this.#playerAddr;
      // RFC 5764 demultiplexing: 128–191 is RTP or RTCP; RTCP's payload types are 192–223 (RFC 5761).
      if (msg.length >= 12 && msg[0]! >= 128 && msg[0]! <= 191 && !(msg[1]! >= 192 && msg[1]! <= 223)) {
        const d = { ssrc: msg.readUInt32BE(8), seq: msg.readUInt16BE(2) };
        const dropped = this.drop(d);
        this.fromServer.push({ ...d, bytes: Buffer.from(msg), dropped });
        if (dropped) return;
      }
      if (to) player.send(msg, to.port, to.address);
    });
  }

  /** A relay in front of the server's ICE port on 127.0.0.1. */
  static async open(serverPort: number): Promise<LossyUdpRelay> {
    const bind = async () => {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    };
    return new LossyUdpRelay(await bind(), await bind(), serverPort);
  }

  /** The port the player is to reach the server on. */
  get port(): number {
    return this.#player.address().port;
  }

  /**
   * The server's answer with its one loopback host candidate moved to the relay (the server sees the player as the
   * relay's peer-reflexive address, since the offer it got carried no candidate).
   */
  static throughRelay(answer: string): { serverPort: number; rewrite: (relayPort: number) => string } {
    const m = / 127\.0\.0\.1 (\d+) typ host/.exec(answer);
    if (!m) throw new Error('the answer has no 127.0.0.1 host candidate');
    const serverPort = Number(m[1]);
    return {
      serverPort,
      rewrite: (relayPort) => answer.replaceAll(` 127.0.0.1 ${serverPort} typ host`, ` 127.0.0.1 ${relayPort} typ host`),
    };
  }

  close(): void {
    this.#player.close();
    this.#server.close();
  }
}
