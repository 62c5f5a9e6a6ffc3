// The player's async work: one playback (its Viewer, a rendition's takeover, its status) on the hub socket (player-hub.ts) into the video (playback-media.ts).
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Viewer } from '../../client-sdk/viewer.js';
import { playerViewer, takeEarlyViewer } from './early-watch.js';
import { SelectReason } from '../../signaling/protocol/types.js';
import { removeWatchShell, takeEarlyVideo } from './client-socket.js';
import { CatalogSource } from './catalog-source.js';
import { BACK_BUFFER_S } from './mse-sink.js';
import { PlaybackMedia } from './playback-media.js';
import { PlayerHub } from './player-hub.js';
import { PlayerSink } from './player-sink.js';
import { PositionKeeper } from './position-keeper.js';
import { ladderOf, type Quality } from './rendition-ladder.js';
import { RenditionSwitch } from './rendition-switch.js';
import { RtcLive, rtcPlays } from './rtc-live.js';
import {
  endedStatus,
  failoversAfter,
  idleStatus,
  unsupportedReason,
  videoStateAfter,
  videoStateOf,
  type HubState,
  type PlaybackStatus,
} from './playback-status.js';

export type { PlaybackStatus } from './playback-status.js';
export { CATALOG_REFRESH_MS, VIEWERS_POLL_MS } from './player-hub.js';
/** How often buffer and byte figures are refreshed on screen (ms). */
const STATUS_TICK_MS = 500;
/** Seconds buffered ahead worth playing out when the stream fails for good (`#playOut`); under it, the failure shows at once. */
const PLAY_OUT_MIN_S = 1;
/** Buffered ahead under which a played-out stream that is not playing counts as over. */
const PLAY_OUT_STALL_S = 0.25;
/** A low-latency live session whose hub did not answer is offered again this often, this many times (ms). */
const RTC_RETRY_MS = 1_000;
const RTC_RETRIES = 5;
const REASONS = new Set<string>(Object.values(SelectReason));
/**
 * A live broadcast that ended is looked for again this often, for this long (ms): its publisher may carry it on
 * (OBS reconnecting after a network blip sends DELETE, then a new POST; the hub lets the same key go on within 30 s),
 * and the player then joins it again by itself, at the live edge.
 */
const CARRY_ON_POLL_MS = 1_000;
const CARRY_ON_WAIT_MS = 35_000;

/**
 * Owns the player's `<video>` element (the component renders it) so that a
 * playback can start before the first render and survive re-renders.
 */
export class WatchController implements ReactiveController {
  readonly video: HTMLVideoElement;
  /** The catalog beside the player: its first page, the search box's answer, the watched entry. */
  readonly feed: CatalogSource;
  status: PlaybackStatus = idleStatus(null);
  /** Media kept behind the playhead, for the next playback (seconds). */
  backBufferS = BACK_BUFFER_S;

  readonly #host: ReactiveControllerHost;
  readonly #hub = new PlayerHub({
    changed: () => this.#host.requestUpdate(),
    connected: () => {
      void this.refreshCatalog();
      void this.feed.load(this.#wanted);
    },
    refreshCatalog: () => void this.refreshCatalog(),
    refreshViewers: () => void this.#refreshViewers(),
  });
  #viewer: Viewer | null = null;
  readonly #switch = new RenditionSwitch({
    playing: () => this.status.streamId,
    canSwitch: () => this.#hub.socket !== null && this.#viewer !== null && !this.status.live,
    durationS: () => (Number.isFinite(this.video.duration) ? this.video.duration : null),
    open: (streamId, startS) => this.#open(streamId, startS, true),
  });
  /** The delivery limit every session of this player asks for (`limit=` in the URL), bits per second. */
  #limitBps: number | null = null;
  /** The bytes' way into the video: the MediaSource, the sink, seeks. */
  readonly #media: PlaybackMedia;
  #statusTimer: ReturnType<typeof setInterval> | undefined;
  #wanted: string | null = null;
  /** The live stream's media time 0 on the wall clock (ms since the epoch), from its meta. */
  #liveStartedAtMs: number | null = null;
  readonly #position = new PositionKeeper();
  #shellGone = false;
  /** Live streams play over WebRTC media (WHEP): a fraction of the MSE path's latency, at the live edge. */
  lowLatency = false;
  /** The low-latency live session, while there is one. */
  #rtc: RtcLive | null = null;
  /** This playback's WHEP offer was refused or failed before a frame: it stays on the data channel. */
  #rtcRefused = false;
  /** The last byte count of the low-latency session, and when it was read: its receive rate. */
  #rtcBytes = { bytes: 0, atMs: 0 };
  /** Looks for a live broadcast that ended to come back (`#awaitCarryOn`). */
  #carryOnTimer: ReturnType<typeof setInterval> | undefined;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    this.feed = new CatalogSource(
      () => this.#hub.socket,
      () => host.requestUpdate(),
    );
    host.addController(this);
    // The element the page's first module plays the stream's start in, when it does: the player shows it from here on.
    const v = takeEarlyVideo() ?? document.createElement('video');
    // Browsers only autoplay muted media; the controls let the viewer unmute.
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.setAttribute('part', 'video');
    this.#media = new PlaybackMedia(v);
    for (const type of ['waiting', 'playing', 'pause', 'ended', 'seeking', 'seeked'] as const) {
      v.addEventListener(type, this.#onVideoEvent);
    }
    v.addEventListener('seeking', this.#onSeeking);
    v.addEventListener('timeupdate', this.#onTimeUpdate);
    v.addEventListener('ended', this.#onTimeUpdate);
    this.video = v;
  }

  /** The viewer's pick in the quality menu. */
  get quality(): Quality {
    return this.#switch.quality;
  }

  /** The hub socket's state, for the screen. */
  get hub(): HubState {
    return this.#hub.state;
  }

  hostConnected(): void {
    this.#hub.connect();
    this.#statusTimer = setInterval(this.#tick, STATUS_TICK_MS);
    if (this.#wanted) this.#start(this.#wanted);
  }

  hostUpdated(): void {
    // The player's first render moved the element out of the page's static frame (index.html): the frame goes.
    if (!this.#shellGone) {
      this.#shellGone = true;
      removeWatchShell();
    }
  }

  hostDisconnected(): void {
    clearInterval(this.#statusTimer);
    this.feed.stop();
    this.#stop();
    this.#hub.disconnect();
  }

  /** Play `assetId` (or stop, for null). Playing the asset already playing does nothing. */
  watch(assetId: string | null): void {
    if (assetId === this.#wanted) return;
    this.#wanted = assetId;
    if (this.#hub.socket) this.#start(assetId);
  }

  /** Live: move to just behind the newest media received (the player's "jump to live" button). */
  jumpToLive(): void {
    this.#media.sink?.jumpToLive();
    this.#tick();
  }

  /** Start the current asset again from the beginning (after an error). */
  retry(): void {
    if (this.#hub.socket) this.#start(this.#wanted);
  }

  refreshCatalog(): Promise<void> {
    return this.feed.refresh();
  }

  /** The current asset's viewer count, cluster-wide; its catalog entry shows the same figure. */
  async #refreshViewers(): Promise<void> {
    const assetId = this.status.assetId;
    const n = await this.feed.viewersOf(assetId);
    if (n === undefined || this.status.assetId !== assetId) return;
    this.#patch({ viewers: n });
  }

  #start(assetId: string | null): void {
    this.#stop();
    this.status = idleStatus(assetId);
    this.#switch.quality = 'auto';
    // Controls over an empty element only confuse; they come back with a stream.
    this.video.controls = assetId !== null;
    this.#host.requestUpdate();
    if (this.feed.current?.id !== assetId) void this.feed.load(assetId);
    const socket = this.#hub.socket;
    if (!assetId || !socket) return;

    // The page's first module may play this asset into this element already: its `playing` (or `waiting`) may
    // have come before this controller listened.
    if (this.#media.begin(assetId)) this.status.video = videoStateOf(this.video);
    // The watch started at page load, when it is of this asset (its events so far come with `replay`): it is of
    // the asset itself, the catalog (and so the renditions) being unknown then. Otherwise Auto starts on the
    // smallest rung (the fastest start). Either way the rule climbs as soon as the link shows room.
    const early = takeEarlyViewer(assetId);
    const first = early ? assetId : ladderOf(this.feed.entry(assetId), assetId).at(-1)!.id;
    this.#switch.begin(first);
    this.status.streamId = first;
    this.#open(first, this.#position.resumePoint(assetId), false, early);
    void this.#refreshViewers();
  }

  /**
   * Opens a Viewer of `streamId` (the asset or one of its renditions) from `startS`: the playback's first,
   * or, `switching`, one that takes over the sink and the playback at its meta (the old one plays on until then).
   */
  #open(streamId: string, startS: number | null, switching: boolean, early?: ReturnType<typeof takeEarlyViewer>): void {
    const viewer = early?.viewer ?? playerViewer(this.#hub.socket!, streamId, startS, this.#limitBps);
    if (early && this.#limitBps !== null) viewer.limit(this.#limitBps);
    if (switching) this.#switch.opened(viewer);
    else this.#viewer = viewer;
    const live = (): boolean => this.#viewer === viewer;
    viewer.addEventListener('selected', (e) => {
      if (!live()) return;
      const d = e.detail;
      this.#patch({
        phase: this.status.phase === 'selecting' ? 'connecting' : this.status.phase,
        server: d.server,
        reason: d.reason,
        loadFactor: d.loadFactor,
        epoch: d.epoch,
      });
    });
    viewer.addEventListener('meta', (e) => {
      if (this.#switch.isNext(viewer)) this.#takeOver(viewer, e.detail.mime);
      if (!live()) return;
      const d = e.detail;
      const listed = this.feed.entry(d.assetId)?.bitrateBps;
      // A stream that ended is a recording: a later meta (a resumed session) does not make it live again.
      const ended = this.status.phase === 'complete';
      this.#patch({ mime: d.mime, totalBytes: d.bytes, live: d.live && !ended, mediaBitrateBps: d.bitrateBps ?? listed ?? null });
      if (d.live && d.startedAtMs !== undefined) this.#liveStartedAtMs = d.startedAtMs;
      if (d.live && !ended && this.lowLatency && !this.#rtcRefused && rtcPlays(d.mime)) return this.#goRtc(streamId, null, 0);
      if (this.#media.sink) return; // a resumed session repeats the metadata; the sink carries on
      if (!PlayerSink.supports(d.mime)) return this.#failWith('unsupported-media', unsupportedReason(d.mime, d.assetId));
      const sink = this.#media.open(d.mime, {
        backBufferS: this.backBufferS,
        live: d.live,
        ...(d.durationMs && !d.live ? { durationS: d.durationMs / 1000 } : {}),
        // The sink outlives this Viewer when a rendition takes over: its callbacks act on the playback (the
        // Viewer playing now), never on the one that opened it. PlaybackMedia calls them while the sink is current.
        onError: (err) => this.#failWith('media-error', `Playback failed: ${err.message}.`),
        // The player holds at most a bounded queue: the server pauses while it is full.
        onBackpressure: (full) => {
          if (full) this.#viewer?.pause();
          else this.#viewer?.resume();
        },
      });
      // What the page's first module buffered ahead already shows now, not at the next tick.
      this.#patch({ bufferAheadS: sink.bufferAheadSeconds() });
      if (startS !== null && !d.live) this.#media.resumeAt(startS);
    });
    viewer.addEventListener('seeked', () => {
      if (live() && this.status.phase === 'complete') this.#patch({ phase: 'streaming' });
    });
    viewer.addEventListener('data', (e) => {
      if (!live()) return;
      // The playback's first bytes; not a rendition's first after it took over (its byte count starts again at 0, and
      // the viewer may have paused: playing then undid the pause, at a seek or a pick in the quality menu).
      const first = this.status.phase === 'selecting' || this.status.phase === 'connecting';
      this.status.bytesReceived += e.detail.bytes.byteLength;
      this.#switch.received(e.detail.bytes.byteLength);
      this.#media.append(e.detail.bytes);
      if (first) {
        this.#patch({ phase: 'streaming' });
        // Autoplay is allowed for muted media; a refusal just leaves the play button.
        this.video.play().catch(() => undefined);
      }
    });
    viewer.addEventListener('stats', (e) => {
      if (live()) this.status.receiveBps = e.detail.bitrateBps;
    });
    viewer.addEventListener('failover', (e) => {
      if (live()) this.#patch({ failovers: failoversAfter(this.status, e.detail, Date.now()) });
    });
    viewer.addEventListener('end', () => {
      if (!live()) return;
      const wasLive = this.status.live;
      this.#media.sink?.end();
      this.#patch(endedStatus(this.status));
      if (this.feed.entry(streamId)?.live) void this.refreshCatalog();
      if (wasLive) this.#awaitCarryOn();
    });
    viewer.addEventListener('error', (e) => {
      if (live() && !this.#playOut(e.detail.code, e.detail.message)) this.#failWith(e.detail.code, e.detail.message);
    });
    if (early) early.replay();
    else viewer.start();
  }

  /** A rendition's stream takes over: the old one closes, the sink goes on from the new one's init segment. */
  #takeOver(viewer: Viewer, mime: string): void {
    this.#media.forgetTaken();
    const old = this.#viewer;
    this.#viewer = viewer;
    this.#switch.tookOver(viewer);
    old?.close();
    // The queue is the sink's: full still, the new stream waits as the old one did.
    if (this.#media.full) viewer.pause();
    this.#media.sink?.splice(mime);
    // Received bytes count what the new rendition delivers ("x of its size").
    this.#patch({ streamId: viewer.assetId, bytesReceived: 0, phase: this.status.phase === 'complete' ? 'streaming' : this.status.phase });
  }

  /** The viewer's choice of live latency (the player's "Low latency" switch): a live stream playing now restarts on that path. */
  setLowLatency(on: boolean): void {
    if (on === this.lowLatency) return;
    this.lowLatency = on;
    if (this.status.live && this.#wanted && this.#hub.socket) this.#start(this.#wanted);
    this.#host.requestUpdate();
  }

  /**
   * Live, low latency: the data-channel session and its MSE buffer give way to a WHEP session into the same element,
   * at the live edge. `from`: the server of the session this one replaces (lost: its server died), for the notice.
   */
  #goRtc(streamId: string, from: string | null, attempt: number): void {
    const viewer = this.#viewer;
    this.#viewer = null;
    viewer?.close();
    this.#switch.stop();
    this.#media.stop();
    this.#rtc?.close();
    const current = (): boolean => this.#rtc === rtc;
    const whep = this.#hub.whep(streamId);
    const rtc: RtcLive = new RtcLive(this.video, whep.iceServers, {
      selected: (serverId, reason) => {
        if (!current()) return;
        if (reason !== SelectReason.live) {
          // The director placed a recording, not a live stream: the broadcast ended meanwhile. WHEP would play it from
          // its start; a resume says it ended, a first offer leaves it to the data channel (seekable, resumable).
          if (from !== null) return this.#rtcEnded(rtc);
          return this.#playOnDataChannel();
        }
        const moved = from !== null && from !== serverId;
        this.#patch({
          server: { id: serverId, region: '' },
          reason: REASONS.has(reason) ? (reason as SelectReason) : null,
          ...(moved ? { failovers: failoversAfter(this.status, { from, to: serverId, offset: null }, Date.now()) } : {}),
        });
      },
      playing: () => {
        if (current()) this.#patch({ phase: 'streaming' });
      },
      lost: () => void this.#rtcLost(rtc, streamId),
      failed: (status, message) => {
        if (!current()) return;
        if (from === null) {
          // The first offer failed (a WHEP endpoint this page cannot reach, a codec this browser lacks): the data channel plays it.
          console.warn(`low-latency live failed (${status}): ${message}; playing over the data channel`);
          return this.#playOnDataChannel();
        }
        // Resuming: the hub refused the stream (it ended meanwhile), or none answered after several tries.
        if (status >= 400 && status < 500) return this.#rtcEnded(rtc);
        if (attempt + 1 >= RTC_RETRIES) return this.#failWith('rtc-failed', `Live playback was lost and could not resume: ${message}.`);
        setTimeout(() => current() && this.#goRtc(streamId, from, attempt + 1), RTC_RETRY_MS);
      },
    });
    this.#rtc = rtc;
    this.#rtcBytes = { bytes: 0, atMs: performance.now() };
    this.#patch({ rtc: true, live: true, bufferAheadS: 0, behindLiveS: 0, latencyS: null, receiveBps: null });
    void rtc.start(whep.endpoints);
  }

  /** Low latency cannot play this stream (a first offer failed, or the director placed a recording): the data channel plays it, and no new offer is made for it. */
  #playOnDataChannel(): void {
    this.#rtcRefused = true;
    this.#start(this.#wanted);
  }

  /** The low-latency session went quiet: the broadcast ended, or its server went away (then a new one, at the edge). */
  async #rtcLost(rtc: RtcLive, streamId: string): Promise<void> {
    if (this.#rtc !== rtc) return;
    await this.feed.load(streamId);
    if (this.#rtc !== rtc) return;
    const entry = this.feed.entry(streamId);
    if (entry && !entry.live) return this.#rtcEnded(rtc);
    this.#goRtc(streamId, this.status.server?.id ?? null, 0);
  }

  /** The broadcast ended: the status says so, the recording's poster shows, and "Play the recording" (`retry`) plays it. */
  #rtcEnded(rtc: RtcLive): void {
    rtc.close();
    if (this.#rtc === rtc) this.#rtc = null;
    this.#patch(endedStatus(this.status));
    void this.refreshCatalog();
    this.#awaitCarryOn();
  }

  /**
   * The live broadcast being watched ended: for CARRY_ON_WAIT_MS its catalog entry is asked for every
   * CARRY_ON_POLL_MS, and once it is live again (its publisher carried it on) the playback starts again by itself.
   */
  #awaitCarryOn(): void {
    const assetId = this.#wanted;
    clearInterval(this.#carryOnTimer);
    if (assetId === null) return;
    const until = Date.now() + CARRY_ON_WAIT_MS;
    const waiting = () => this.#wanted === assetId && this.status.phase === 'complete' && Date.now() <= until;
    // Live and growing: an entry still saying "live" a moment after the end (the table not updated yet) does not grow.
    let seenBytes = Infinity;
    this.#carryOnTimer = setInterval(() => {
      if (!waiting()) return clearInterval(this.#carryOnTimer);
      void this.feed.load(assetId).then(() => {
        const e = this.feed.current;
        if (!waiting() || e?.id !== assetId) return;
        const grew = e.live && e.bytes > seenBytes;
        seenBytes = e.live ? e.bytes : 0;
        if (!grew) return;
        clearInterval(this.#carryOnTimer);
        this.#start(assetId);
      });
    }, CARRY_ON_POLL_MS);
  }

  /** The low-latency session's byte count and receive rate, from its WebRTC stats. */
  #rtcTick(rtc: RtcLive): void {
    void rtc.bytesReceived().then((bytes) => {
      if (this.#rtc !== rtc) return;
      // The rate over at least a second: stats taken 500 ms apart may repeat (the browser caches them briefly).
      const now = performance.now();
      const mark = this.#rtcBytes;
      let receiveBps = this.status.receiveBps;
      if (now - mark.atMs >= 1_000) {
        receiveBps = ((bytes - mark.bytes) * 8000) / (now - mark.atMs);
        this.#rtcBytes = { bytes, atMs: now };
      }
      this.status = { ...this.status, bytesReceived: bytes, receiveBps };
      this.#host.requestUpdate();
    });
  }

  /** The viewer's choice in the quality menu: a rung's asset id, or `auto` (the player picks). */
  pick(quality: Quality): void {
    this.#switch.pick(quality, this.video.currentTime);
    this.#host.requestUpdate();
  }

  /** Ask every session of this playback to send no faster than `bps` on average (null: no limit). */
  setLimit(bps: number | null): void {
    this.#limitBps = bps;
    this.#viewer?.limit(bps);
    this.#switch.limit(bps);
  }

  /**
   * The viewer moved the playhead: outside buffered media the stream restarts there (`PlaybackMedia.seekTo`); a rung
   * the viewer picked at the media's end, where no switch could start, plays from there (a replay seeks to 0).
   */
  readonly #onSeeking = (): void => {
    const viewer = this.#viewer;
    const t = this.video.currentTime;
    if (!viewer || !this.#media.sink || this.status.live) return;
    if (this.#media.seekTo(t)) {
      viewer.seekTime(t * 1000);
      this.#switch.restartAt(t);
    }
    this.#switch.seeked(t);
  };

  /** Keeps the position in the URL (`t=`) and local storage, so a reload or a shared link resumes there. */
  readonly #onTimeUpdate = (e: Event): void => {
    const assetId = this.status.assetId;
    const v = this.video;
    const seekPending = this.#media.seekPending();
    if (!assetId || this.status.live || v.seeking || seekPending || v.readyState < 2) return;
    this.#position.note(assetId, v, e.type === 'ended');
  };

  #stop(): void {
    clearInterval(this.#carryOnTimer);
    this.#liveStartedAtMs = null;
    this.#rtc?.close();
    this.#rtc = null;
    this.#rtcRefused = false;
    const viewer = this.#viewer;
    this.#viewer = null;
    viewer?.close();
    this.#switch.stop();
    this.#media.stop();
  }

  /**
   * The stream failed for good with media buffered ahead (its file was deleted from its only server, or every holder
   * went away): rather than drop seconds of picture at once, the Viewer closes and the buffered media plays to its end,
   * with a notice; the failure shows when it ends (`#onVideoEvent`). False when there is too little to play out.
   */
  #playOut(code: string, message: string): boolean {
    const sink = this.#media.sink;
    const aheadS = sink?.bufferAheadSeconds() ?? 0;
    if (!sink || this.#rtc || this.status.phase !== 'streaming' || aheadS < PLAY_OUT_MIN_S) return false;
    const viewer = this.#viewer;
    this.#viewer = null;
    viewer?.close();
    this.#switch.stop();
    sink.end();
    this.#patch({ interrupted: { code, message, aheadS }, receiveBps: null });
    return true;
  }

  #failWith(code: string, message: string, midway = false): void {
    this.#stop();
    this.video.controls = false;
    this.#patch({ phase: 'error', error: { code, message, ...(midway ? { midway } : {}) }, interrupted: null });
  }

  #patch(p: Partial<PlaybackStatus>): void {
    this.status = { ...this.status, ...p };
    this.#host.requestUpdate();
  }

  /** Byte counts and buffer figures change many times a second: show them at a steady pace. */
  readonly #tick = (): void => {
    if (this.#rtc) return this.#rtcTick(this.#rtc);
    if (!this.#viewer && this.status.phase !== 'complete' && !this.status.interrupted) return;
    const sink = this.#media.sink;
    const ahead = sink?.bufferAheadSeconds() ?? 0;
    const live = this.status.live && sink?.live === true;
    const playing = this.video.readyState >= 2;
    const latencyS =
      live && playing && this.#liveStartedAtMs !== null ? (Date.now() - this.#liveStartedAtMs) / 1000 - this.video.currentTime : null;
    this.status = { ...this.status, bufferAheadS: ahead, behindLiveS: live ? sink.behindNewestSeconds() : 0, latencyS };
    // Played out short of the end (a gap, the element waiting for data that will not come): say why now.
    if (this.status.interrupted && ahead < PLAY_OUT_STALL_S && this.video.readyState < 3 && !this.video.paused) return this.#playedOut();
    const assetId = this.status.assetId;
    // An ended clip stays ended: no rendition is worth fetching for it (a seek back plays it again, and Auto with it).
    if (this.#switch.quality === 'auto' && sink && assetId && !this.status.live && this.status.phase !== 'error' && !this.video.ended)
      this.#switch.step(ladderOf(this.feed.entry(assetId), assetId), this.video.currentTime, ahead);
    this.#host.requestUpdate();
  };

  readonly #onVideoEvent = (e: Event): void => {
    // A seek while paused ends with `seeked` alone (no `playing`, no `pause`): the state is the element's, or the
    // "Buffering…" of its `seeking` stayed over a paused picture that had all its media.
    const next = e.type === 'seeked' ? videoStateOf(this.video) : videoStateAfter(e.type, this.video.ended);
    if (next !== this.status.video) this.#patch({ video: next });
    if (e.type === 'ended') this.#playedOut();
  };

  /** A stream played out after its failure (`#playOut`) has ended, or stalled with nothing left: the failure shows. */
  #playedOut(): void {
    const i = this.status.interrupted;
    if (i) this.#failWith(i.code, i.message, true);
  }
}
