// A live broadcast over WebRTC media (WHEP, RFC 9725): the player's low-latency way to watch. The frames come as RTP
// straight into the <video> (no MediaRecorder-sized chunks waiting in an MSE buffer), from the server the director
// picks, as any WHEP player gets them (signaling/whep-routes.ts).

/** A POST that has not answered by then is given up on (ms). */
export const RTC_POST_TIMEOUT_MS = 15_000;
/** ICE gathering is waited for this long at most before the offer goes (non-trickle WHEP), ms. */
export const RTC_GATHER_WAIT_MS = 2_000;
/**
 * A connection `disconnected` (or a video track muted: no RTP) for this long counts as lost (ms). A live
 * broadcast sends a frame every 33–100 ms; a WHEP session that ends (the broadcast ended) stops sending.
 */
export const RTC_QUIET_MS = 2_500;
/**
 * Once playing, the bytes received are looked at this often (ms): RTP that stopped for RTC_QUIET_MS on a connection
 * still up is quiet too. A WHEP session whose broadcast ended sends nothing more, and Chromium neither mutes its track
 * nor drops the connection until ICE consent fails: the player said "live" ≈ 11 s after the broadcaster ended (measured,
 * `disconnected` came 8.3 s after the end); it now says "broadcast ended" 3.1 s after (one run, loopback).
 */
export const RTC_FLOW_CHECK_MS = 500;

/**
 * The most of a WHEP answer the page reads (an SDP answer is a few KiB; the hub bounds offers at 32 KiB). A longer
 * body is not read to its end: the offer fails, naming the bound.
 */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface RtcLiveHandlers {
  /** The hub placed the session: the server that feeds it and why (as for a data-channel viewer). */
  selected(serverId: string, reason: string): void;
  /** The first frame is on screen. */
  playing(): void;
  /** The session went quiet or failed after it played (its server died, or the broadcast ended). */
  lost(): void;
  /** It could not start: the WHEP endpoint's status and what it said. */
  failed(status: number, message: string): void;
}

/**
 * Whether a live stream of `mime` plays over WHEP in this browser: Baton's WHEP sends VP8 or H.264 (not VP9 or AV1),
 * and the browser's WebRTC must decode it.
 */
export function rtcPlays(mime: string): boolean {
  if (typeof RTCPeerConnection === 'undefined') return false;
  const codecs = /codecs="?([^"]*)"?/i.exec(mime)?.[1]?.toLowerCase() ?? '';
  const want = codecs.includes('vp8') ? 'video/vp8' : /avc1|h264/.test(codecs) ? 'video/h264' : null;
  if (!want) return false;
  const caps = RTCRtpReceiver.getCapabilities?.('video')?.codecs ?? [];
  return caps.some((c) => c.mimeType.toLowerCase() === want);
}

/** Where a WHEP offer can go: each hub's `/whep/<id>`, the page's own first. */
export function whepEndpoints(streamId: string, origin: string, hubUrls: readonly string[]): string[] {
  const bases = [origin, ...hubUrls].map((u) => u.replace(/\/+$/, ''));
  return [...new Set(bases)].map((b) => `${b}/whep/${encodeURIComponent(streamId)}`);
}

/**
 * One WHEP session into `video`: recvonly VP8/H.264 + Opus, the whole offer in one POST (to the first endpoint that
 * answers), the answer set, the tracks in the element. `close` ends it (DELETE on its resource).
 */
export class RtcLive {
  readonly #video: HTMLVideoElement;
  readonly #h: RtcLiveHandlers;
  readonly #pc: RTCPeerConnection;
  #resource: string | null = null;
  #closed = false;
  #played = false;
  /** `lost` was said (once per session). */
  #lost = false;
  #quiet: ReturnType<typeof setTimeout> | undefined;
  /** The bytes received at the last look, and when they last grew (ms); the looks while playing. */
  #flow: { bytes: number; atMs: number } | null = null;
  #flowTimer: ReturnType<typeof setInterval> | undefined;
  readonly #abort = new AbortController();

  constructor(video: HTMLVideoElement, iceServers: RTCIceServer[], handlers: RtcLiveHandlers) {
    this.#video = video;
    this.#h = handlers;
    this.#pc = new RTCPeerConnection({ iceServers });
  }

  /** Offers to each endpoint in turn until one places the session; `failed` when none does. */
  async start(endpoints: readonly string[]): Promise<void> {
    const pc = this.#pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      e.track.onmute = () => this.#watchQuiet();
      e.track.onunmute = () => this.#watchQuiet();
      if (this.#video.srcObject !== stream) this.#video.srcObject = stream;
      this.#video.play().catch(() => undefined);
    };
    pc.onconnectionstatechange = () => this.#watchQuiet();
    this.#video.addEventListener('playing', this.#onPlaying);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    let last = { status: 0, message: 'no hub to ask' };
    for (const url of endpoints) {
      if (this.#closed) return;
      const r = await this.#offer(url, pc.localDescription!.sdp);
      if (r.ok) {
        if (this.#closed) return;
        this.#h.selected(r.server, r.reason);
        if (this.#closed) return;
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp: r.answer });
        } catch (err) {
          if (!this.#closed) this.#h.failed(0, `the answer did not apply: ${(err as Error).message}`);
        }
        return;
      }
      last = r;
      // A hub that answered (an unknown asset, a refused codec, no capacity) speaks for the cluster: no other is asked.
      if (r.status !== 0 && r.status < 500) break;
    }
    if (!this.#closed) this.#h.failed(last.status, last.message);
  }

  /** Bytes of RTP received so far (audio and video), from the connection's stats. */
  async bytesReceived(): Promise<number> {
    let bytes = 0;
    (await this.#pc.getStats()).forEach((r: { type: string; bytesReceived?: number }) => {
      if (r.type === 'inbound-rtp') bytes += r.bytesReceived ?? 0;
    });
    return bytes;
  }

  /** Ends the session and empties the element (its poster shows again). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#quiet);
    clearInterval(this.#flowTimer);
    this.#abort.abort();
    this.#video.removeEventListener('playing', this.#onPlaying);
    if (this.#resource) void fetch(this.#resource, { method: 'DELETE', keepalive: true }).catch(() => undefined);
    this.#pc.close();
    if (this.#video.srcObject) this.#video.srcObject = null;
  }

  readonly #onPlaying = (): void => {
    if (this.#closed || this.#played) return;
    this.#played = true;
    this.#flowTimer = setInterval(() => void this.#checkFlow(), RTC_FLOW_CHECK_MS);
    this.#h.playing();
  };

  /** No RTP byte for RTC_QUIET_MS, the connection up or not: lost. */
  async #checkFlow(): Promise<void> {
    const bytes = await this.bytesReceived();
    if (this.#closed) return;
    const now = Date.now();
    if (this.#flow === null || bytes !== this.#flow.bytes) this.#flow = { bytes, atMs: now };
    else if (now - this.#flow.atMs >= RTC_QUIET_MS) this.#lose();
  }

  #lose(): void {
    if (this.#closed || this.#lost) return;
    this.#lost = true;
    clearInterval(this.#flowTimer);
    this.#h.lost();
  }

  /** Quiet (disconnected, failed, no RTP on the video track) for RTC_QUIET_MS after it played: lost. */
  #watchQuiet(): void {
    if (this.#closed) return;
    const state = this.#pc.connectionState;
    const video = this.#pc.getReceivers().find((r) => r.track.kind === 'video')?.track;
    const quiet =
      state === 'failed' || state === 'closed' || state === 'disconnected' || video?.muted === true || video?.readyState === 'ended';
    if (!quiet) {
      clearTimeout(this.#quiet);
      this.#quiet = undefined;
      return;
    }
    if (this.#quiet !== undefined) return;
    const ms = state === 'failed' || state === 'closed' ? 0 : RTC_QUIET_MS;
    this.#quiet = setTimeout(() => {
      this.#quiet = undefined;
      if (!this.#closed && this.#played) this.#lose();
      else if (!this.#closed) this.#h.failed(0, `the connection ${this.#pc.connectionState} before the first frame`);
    }, ms);
  }

  async #offer(
    url: string,
    sdp: string,
  ): Promise<{ ok: true; answer: string; server: string; reason: string } | { ok: false; status: number; message: string }> {
    const timeout = AbortSignal.timeout(RTC_POST_TIMEOUT_MS);
    const signal = AbortSignal.any([timeout, this.#abort.signal]);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sdp, signal });
      const text = await boundedText(res, MAX_ANSWER_BYTES);
      if (text === null) return { ok: false, status: 0, message: `the answer was longer than ${MAX_ANSWER_BYTES} bytes` };
      if (res.status !== 201) return { ok: false, status: res.status, message: text.trim().slice(0, 300) || `HTTP ${res.status}` };
      const location = res.headers.get('location');
      if (location) this.#resource = new URL(location, url).href;
      return { ok: true, answer: text, server: res.headers.get('x-baton-server') ?? '', reason: res.headers.get('x-baton-reason') ?? '' };
    } catch (err) {
      return { ok: false, status: 0, message: timeout.aborted ? 'the hub did not answer' : String((err as Error).message ?? err) };
    }
  }
}

/** The response's body as text, or null (and the rest left unread) once it passes `maxBytes`. */
export async function boundedText(res: Response, maxBytes: number): Promise<string | null> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      void reader.cancel().catch(() => undefined);
      return null;
    }
    parts.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Resolves once ICE gathering is complete, or after RTC_GATHER_WAIT_MS. */
function gathered(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, RTC_GATHER_WAIT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}
